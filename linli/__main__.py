"""`python -m linli <command>` (or the `linli` console script)."""
from cli import main

main()
