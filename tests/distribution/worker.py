"""One process of a test job: ``python tests/distribution/worker.py OUTPUT_DIR SCENARIO...`` runs each
scenario of scenarios.py and writes its results to ``OUTPUT_DIR/<scenario>.<rank>.json``."""

import json
import os
import sys

import scenarios


def main(directory, names):
    rank = os.environ["RANK"]
    for name in names:
        function = scenarios.ALL[name]
        result = function(directory) if function.__code__.co_argcount else function()
        with open(os.path.join(directory, f"{name}.{rank}.json"), "w") as handle:
            json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
