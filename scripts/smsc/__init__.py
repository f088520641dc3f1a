"""A local SMSC stand-in for the demo, the tests and the drills (SMPP 3.4 over TCP).

Run it: `python -m scripts.smsc --port 2775 --control-port 2776 --account loa:secret`
(`python -m scripts.smsc --help` lists the behaviours). In tests: `Smsc(...).start()`, see
`scripts.smsc.server`. The control interface (HTTP, JSON) is in `scripts.smsc.control`.
"""

from scripts.smsc.server import Behaviour, Received, Smsc

__all__ = ["Behaviour", "Received", "Smsc"]
