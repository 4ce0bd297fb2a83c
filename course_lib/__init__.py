"""course_lib: the companion code of the LLM Intuition course.

One module per job, in the order the chapters use them:

- ``numpy_nn``: Chapter 1's neural networks from numpy building blocks.
- ``datasets``: Chapter 1's toy data sets (XOR, circles).
- ``classifier``: Chapter 1's demo classifiers, trained with ``train.fit``.
- ``corpus``: the course's own language, a small grammar with exact probabilities.
- ``tokens``: words to token ids and back (a word-level vocabulary).
- ``lm``: next-word predictors and how to score them (Chapter 2).
- ``autograd``: a scalar autograd engine, ``Value`` (Chapter 3).
- ``train``: the one training loop, ``fit``, and ``evaluating``, ``one_thread``.
- ``gpt``: a small, readable GPT and the ``GPT3`` shape (Chapter 4).
- ``zoo``: trained models, made once and cached on disk.
- ``chat``: chat data in the course language and how to grade answers (Chapter 5).
- ``finetune``: from a base model to an assistant: SFT, reward model, RLHF, DPO.
- ``plots``: every figure of the course, in chapter order.
- ``widgets``: interactive demos for JupyterLab.
- ``claims``: a chapter's claims about its own results, checked at build time.
- ``grading``: what the exercises' visible test cells call, and the fixtures they import.
- ``instructor``: the instructor's side (needs the ``[instructor]`` extra): the
  ``course`` command (``instructor.cli``), nbgrader's sandboxed kernel, the worker
  the trusted grader calls, feedback reports.
"""

__version__ = "0.1.0"
