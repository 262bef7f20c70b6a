"""A chapter's settings: one frozen dataclass per chapter, quick and full values side by side.

    @dataclass(frozen=True)
    class Settings(settings.Settings):
        max_train: int | None = profiled(4_000, full=None)  # training reviews; None = all
        lr: float = 5e-3                                    # Adam's learning rate

A field's default is its quick value; :func:`profiled` adds the full profile's value where
it differs, and the colab profile's where that differs from the full one.
``Settings.for_profile("full")`` gives the full values, ``for_profile()`` those of
``BIGTEXT_PROFILE``. The chapter's notebook and ``bigtext run <chapter>`` both start
from it, so a chapter's cells and its Results row come from one experiment.
``with_overrides`` changes some values, each checked first (:mod:`.spec`): an unknown name
is refused with the closest known one, a value by its type and rule.
Walkthrough: book/how_to_run.md.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib

from bigtext_lite import config
from bigtext_lite.config import SettingError
from bigtext_lite.experiments.spec import FROM_ENV, Spec, spec_of

_AS_FULL = object()  # the colab profile's value where a field names none


def profiled(quick, *, full, colab=_AS_FULL):
    """A field whose value is ``quick`` in the quick profile, ``full`` in the full one, and
    ``colab`` in the colab one (by default the full value: the colab profile reads all of
    the data, and leaves out what a free GPU has no time for)."""
    return dataclasses.field(default_factory=lambda: copy.deepcopy(quick),
                             metadata={"full": full,
                                       "colab": full if colab is _AS_FULL else colab})


@dataclasses.dataclass(frozen=True)
class Settings:
    """The base of every chapter's settings; see the module docstring."""

    @classmethod
    def for_profile(cls, profile: str | None = None) -> Settings:
        """The settings of ``profile`` ("quick", "colab" or "full"; None:
        ``BIGTEXT_PROFILE``)."""
        profile = config.profile() if profile is None else config.parse_profile(profile, "profile")
        if profile == "quick":
            return cls()
        return cls(**{f.name: copy.deepcopy(f.metadata[profile])
                      for f in dataclasses.fields(cls) if profile in f.metadata})

    @classmethod
    def chapter(cls) -> str:
        """The chapter's name, as ``bigtext run`` takes it: its module's."""
        return cls.__module__.rsplit(".", 1)[-1]

    @classmethod
    def specs(cls) -> dict[str, Spec]:
        """Each setting's type and rule, read from its values in every profile."""
        profiles = [cls.for_profile(p) for p in config.PROFILES]
        return {f.name: spec_of(f.name, [getattr(s, f.name) for s in profiles])
                for f in dataclasses.fields(cls)}

    @classmethod
    def parse_sets(cls, items: list[str]) -> dict:
        """``--set KEY=VALUE`` items as overrides, each read as its setting's type and
        checked; a SettingError names the item."""
        specs, overrides = cls.specs(), {}
        for item in items:
            name, sep, text = item.partition("=")
            name = name.strip()
            if not sep:
                raise SettingError(f"--set {item}: takes KEY=VALUE, e.g. --set batch_size=256")
            if name in overrides:
                raise SettingError(f"--set {item}: {name} is set twice")
            if name not in specs:
                raise SettingError(f"--set {item}: {cls._unknown(name, specs)}")
            try:
                overrides[name] = specs[name].check(specs[name].parse(text))
            except ValueError:
                raise SettingError(f"--set {item}: must be {specs[name].words()}") from None
        return overrides

    def checked(self, overrides: dict | None) -> dict:
        """``overrides`` as the run takes them, after checking every setting the run will
        use (these values too: one comes from BIGTEXT_BERT)."""
        if not isinstance(overrides, (dict, type(None))):
            raise SettingError(f"overrides must be a dict of settings, "
                               f"got {type(overrides).__name__}")
        specs, overrides = self.specs(), dict(overrides or {})
        for name in overrides:
            if name not in specs:
                raise SettingError(f"{name!r}: {self._unknown(name, specs)}")
        checked = {}
        for name, value in {**self.values(), **overrides}.items():
            try:
                checked[name] = specs[name].check(value)
            except ValueError:
                where = (f"{name}={value!r}" if name in overrides or name not in FROM_ENV
                         else f"{FROM_ENV[name]}={value!r}")
                raise SettingError(f"{where}: must be {specs[name].words()}") from None
        return {name: checked[name] for name in overrides}

    def with_overrides(self, overrides: dict | None) -> Settings:
        """A copy with ``overrides`` (name -> value) applied, after :meth:`checked`."""
        return dataclasses.replace(self, **self.checked(overrides))

    def values(self) -> dict:
        """name -> value, as the fields hold them (``dataclasses.asdict`` copies deeply)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def _unknown(cls, name, specs: dict) -> str:
        close = difflib.get_close_matches(str(name), specs, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"unknown setting for {cls.chapter()}; {hint}known: {', '.join(sorted(specs))}"
