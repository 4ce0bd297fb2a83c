// Tell RequireJS where the widget manager lives on this site, so that the
// icon fonts of the widgets load from _static/html-manager/ (next to this
// file) rather than from a path relative to each page.
require.config({
  paths: {
    "@jupyter-widgets/html-manager/dist": new URL("html-manager", document.currentScript.src).href,
  },
});
