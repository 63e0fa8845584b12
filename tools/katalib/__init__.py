"""The `kata` front end: the course's exercises, their builds, tests and reports."""
