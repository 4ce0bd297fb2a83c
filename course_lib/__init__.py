"""course_lib: the companion code of the LLM Intuition course.

One module per job: ``nn`` (numpy networks), ``corpus`` and ``tokenize``
(the course's own language), ``autograd``, ``train``, ``gpt``, ``zoo``,
``finetune``, ``plots``, ``widgets``, ``grading`` and ``cli``.
"""

__version__ = "0.1.0"
