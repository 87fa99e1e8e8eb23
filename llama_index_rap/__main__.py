"""``python -m llama_index_rap`` runs the ``rap`` command line."""

from llama_index_rap.cli import run

run()
