"""Every scenario module; importing this package registers them all.

``server`` is the server scenarios; ``client`` and ``end_to_end`` (terminal scenarios) are
imported when present.
"""

import importlib

for _name in ("server", "client", "end_to_end"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_name}":
            raise
