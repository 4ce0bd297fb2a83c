"""The instructor's side of the course: what the ``course`` command (``course_lib.instructor.cli``) runs.

* ``course`` — the course folder: paths, chapters, learners, state files;
* ``release`` — the learners' notebooks (``exercises/``) from the sources, checked;
* ``collect`` — submissions from a folder or a zip into ``submitted/``;
* ``submissions`` — what a submitted notebook looks like next to its source;
* ``sandbox`` — the kernel that runs learners' code, confined;
* ``execute`` — nbgrader's Execute with an output cap and a graceful dead kernel;
* ``trusted`` — the autograde preprocessor that scores every test cell with the
  trusted grader (the grader-only package ``course_grader``), and the statuses
  ``tamper suspected`` and ``review``;
* ``worker`` — the sandboxed process that runs a learner's answer cells and
  serves calls of their functions to the trusted grader;
* ``wire`` — the plain-data format between the two (JSON, ``.npy`` without pickle);
* ``autograde`` — nbgrader autograde across learners in parallel;
* ``report`` — feedback HTML, grades CSV, summary and histograms.
"""
