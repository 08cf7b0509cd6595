"""The DAGs' task functions, one module per DAG. Each function is an entry point: it resolves the
settings from the environment once and passes them down to the sources and the warehouse."""
