"""The LLM Intuition course's trusted grader (instructors only; learners never install it).

* :mod:`course_grader.channel` starts the sandboxed worker that runs a
  learner's answer cells and gives the checks proxies of the learner's
  functions (plain data over a pipe, never pickle, never code);
* ``course_grader.ch1`` ... ``ch5`` hold one check per graded test cell,
  ``test_<grade_id>(answers)``, with the hidden inputs, references and
  mistake lists;
* :mod:`course_grader.static` reads the answer cells' source (forbidden
  shortcuts, and constructs an instructor should review);
* :mod:`course_grader.run` grades one notebook: the verdict of every graded
  cell, computed in this process.

``course_lib.instructor.trusted`` plugs this into nbgrader's autograde.
"""
