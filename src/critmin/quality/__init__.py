"""Data-quality checks: Great Expectations suites run against one batch at a time."""
