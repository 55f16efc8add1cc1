"""Run by tests/test_multinode.py under torchrun, one process per "node": notes which global rank
this node's process got from the c10d rendezvous (in ``MARKS/<node>.rank``), then runs ``gan-eval``
with the remaining arguments, exactly as ``torchrun -m gan_eval`` would."""

import os
import sys
from pathlib import Path

from gan_eval.cli import main

if __name__ == "__main__":
    node, marks = sys.argv[1], Path(sys.argv[2])
    (marks / f"{node}.rank").write_text(f"{os.environ['RANK']} {os.environ['WORLD_SIZE']} {os.environ['GROUP_RANK']}")
    main(args=sys.argv[3:], prog_name="gan-eval")
