"""critmin: a data warehouse for the rare-earth magnet supply chain."""
