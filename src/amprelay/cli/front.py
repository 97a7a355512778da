"""An ingest process of ``amprelay serve --ingest-processes N``: started by the relay's main
process (:class:`amprelay.relay.workers.Workers`), never by hand."""

import sys

from amprelay.wiring import front_main

if __name__ == "__main__":
    sys.exit(front_main())
