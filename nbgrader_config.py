"""nbgrader configuration for the LLM Intuition course.

Run nbgrader from the repository root: ``solutions/`` is the source of every
assignment (one per chapter) and ``exercises/`` is what learners receive.
"""

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "llm-intuition"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Learners may delete or retype a graded cell: put it back from the source.
c.OverwriteCells.add_missing_cells = True
c.OverwriteCells.missing_cell_notification = (
    "This notebook was missing a graded cell; it was restored from the source."
)

# A test cell answers in under two seconds; a cell that hangs stops here.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.ExecutePreprocessor.timeout = 60

# The recorded score of every graded test cell comes from the trusted grader
# (course_lib.instructor.trusted.TrustedGrade, with the checks of the
# grader-only package course_grader), run after the kernel and before
# SaveAutoGrades: the kernel's own run of a test cell is not trusted.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course_lib.instructor.trusted.TrustedGrade",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback never shows hidden tests: neither their source nor the lines a
# traceback quotes. Each error keeps only the message the check wrote.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
    "course_lib.instructor.feedback.ShortTracebacks",
    # Last: a learner's outputs and Markdown become inert HTML (no script runs in the report).
    "course_lib.instructor.feedback.SanitizeHTML",
]

# The stub a learner sees in place of a solution.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
