"""``Config``: a dict of named values that also reads and writes as attributes, and can be frozen."""

import difflib
import json


class Config:
    """As ``keras.utils.Config``: ``config.lr = 0.1``, ``config["lr"]``, ``as_dict()``, ``to_json()``,
    ``freeze()`` (then any change raises ``ValueError``), ``unfreeze()``; iteration gives sorted keys."""

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        return self._frozen

    def freeze(self):
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self):
        return dict(self._config)

    def to_json(self):
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, key, value=None):
        return self._config.get(key, value)

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def __setattr__(self, name, value):
        self[name] = value

    def __getattr__(self, name):
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, config.keys(), n=1, cutoff=0.7)
        raise AttributeError(message + (f" Did you mean '{close[0]}'?" if close else ""))

    def __setitem__(self, key, value):
        self._raise_if_frozen()
        self._config[key] = value

    def __getitem__(self, key):
        return self._config[key]

    def __contains__(self, key):
        return key in self._config

    def __len__(self):
        return len(self._config)

    def __iter__(self):
        return iter(sorted(self._config))

    def __repr__(self):
        return f"<Config {self._config}>"
