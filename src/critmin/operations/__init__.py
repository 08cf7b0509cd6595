"""What an operator does by hand, as commands (``critmin warehouse``, ``backup``, ``rebuild``): see
who holds the warehouse and free it from a crashed run (``warehouse``), copy the home between runs
(``backup``), rebuild a home from the raw zone alone (``rebuild``). The CLI only parses arguments
and calls these."""
