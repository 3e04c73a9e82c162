"""The weights registry: named styles → engine + checkpoint file + sha256 + engine parameters.

Two YAML files are merged, later entries overriding earlier ones of the same name:

1. the registry shipped with emoget, `weights/registry.yaml` next to the package (classic styles
   and commented examples of gan styles);
2. the user's registry, `$EMOGET_WEIGHTS_DIR/registry.yaml` (default
   `~/.cache/emoget/weights/registry.yaml`), which `emoget weights add` and `emoget weights
   fetch` write.

Schema (version 1)::

    version: 1
    styles:
      toon:
        engine: gan                  # classic | gan
        description: Toonify-like cartoon (blended FFHQ + cartoon model)
        checkpoint: toon-256.pt      # relative to the registry file's folder, ~ or absolute
        sha256: 9f2c...              # of the checkpoint file; checked before every use
        base: ffhq-256.pt            # generator the photo is inverted into (default: checkpoint)
        base_sha256: 51ab...
        swap_res: 32                 # informational: the blend's swap resolution
        class_name: null             # class of a conditional generator
        invert_steps: 300
        perceptual: auto             # auto | lpips | fallback | none
    fetched:                         # user registry only: what `weights fetch` installed
      ffhq:                          # catalogue name (weights/catalogue.yaml)
        file: ffhq-1024.safetensors  # the installed file (converted for NVlabs pickles)
        sha256: 51ab...              # of the installed file
        source_sha256: 77c0...       # of the file as downloaded: pinned at the first download
        url: https://...             # where it came from (or the --from file)
        licence: nvidia-nc
        licence_accepted: true

Checkpoints are untrusted files: this module only hashes them; loading is the gan package's job
(`torch.load(weights_only=True)` / safetensors).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from .core.atomic import write_text_atomic
from .core.errors import CheckpointError, DependencyError, UsageError

REGISTRY_VERSION = 1
REGISTRY_NAME = "registry.yaml"
ENGINES = ("classic", "gan")
from .core.choices import CLASSIC_STYLE_NAMES, PERCEPTUAL_CHOICES
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {"engine", "description", "checkpoint", "sha256", "base", "base_sha256", "swap_res",
         "class_name", "invert_steps", "perceptual"}


def shipped_registry_path() -> Path:
    """`weights/registry.yaml` of the source tree (absent in a wheel install: classic still works)."""
    return Path(__file__).resolve().parents[1] / "weights" / REGISTRY_NAME


def user_weights_dir() -> Path:
    env = os.environ.get("EMOGET_WEIGHTS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emoget" / "weights"


def user_registry_path() -> Path:
    return user_weights_dir() / REGISTRY_NAME


@dataclass(frozen=True)
class StyleEntry:
    """One registry entry, with paths resolved to absolute ones."""

    name: str
    engine: str
    description: str = ""
    checkpoint: Optional[Path] = None
    sha256: Optional[str] = None
    base: Optional[Path] = None
    base_sha256: Optional[str] = None
    swap_res: Optional[int] = None
    class_name: Optional[str] = None
    invert_steps: Optional[int] = None
    perceptual: str = "auto"
    registry: Optional[Path] = field(default=None, compare=False)

    @property
    def available(self) -> bool:
        """classic: always; gan: its checkpoint (and base) files exist (hashes not checked)."""
        if self.engine == "classic":
            return True
        return all(p is not None and p.is_file() for p in (self.checkpoint, self.base or self.checkpoint))

    def to_yaml(self, relative_to: Optional[Path] = None) -> dict[str, Any]:
        def rel(p: Optional[Path]) -> Optional[str]:
            if p is None:
                return None
            if relative_to is not None:
                try:
                    return str(p.relative_to(relative_to))
                except ValueError:
                    pass
            return str(p)

        data = {"engine": self.engine, "description": self.description or None,
                "checkpoint": rel(self.checkpoint), "sha256": self.sha256, "base": rel(self.base),
                "base_sha256": self.base_sha256, "swap_res": self.swap_res,
                "class_name": self.class_name, "invert_steps": self.invert_steps,
                "perceptual": None if self.perceptual == "auto" else self.perceptual}
        return {k: v for k, v in data.items() if v is not None}


def _resolve(value: Any, folder: Path, where: str) -> Optional[Path]:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where} must be a file path")
    p = Path(os.path.expandvars(value)).expanduser()
    return p if p.is_absolute() else (folder / p)


def _entry_from_yaml(name: str, data: Any, registry: Path) -> StyleEntry:
    where = f"{registry}: style {name!r}"
    if not _NAME_RE.match(str(name)):
        raise UsageError(f"{registry}: bad style name {name!r} (lowercase letters, digits, - _ .)")
    if not isinstance(data, dict):
        raise UsageError(f"{where} must be a mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                         f"(valid: {', '.join(sorted(_KEYS))})")
    engine = data.get("engine", "gan" if data.get("checkpoint") else "classic")
    if engine not in ENGINES:
        raise UsageError(f"{where}: engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    for key in ("sha256", "base_sha256"):
        if data.get(key) is not None and not _SHA_RE.match(str(data[key]).lower()):
            raise UsageError(f"{where}: {key} must be 64 hexadecimal digits")
    for key in ("swap_res", "invert_steps"):
        v = data.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise UsageError(f"{where}: {key} must be a positive integer")
    perceptual = data.get("perceptual") or "auto"
    if perceptual not in PERCEPTUAL_CHOICES:
        raise UsageError(f"{where}: perceptual must be one of {', '.join(PERCEPTUAL_CHOICES)}")
    folder = registry.parent
    checkpoint = _resolve(data.get("checkpoint"), folder, f"{where}: checkpoint")
    if engine == "gan" and checkpoint is None:
        raise UsageError(f"{where}: a gan style needs a checkpoint")
    if engine == "gan" and not data.get("sha256"):
        raise UsageError(f"{where}: a gan style needs the checkpoint's sha256 "
                         "(`emoget weights add` computes it)")
    class_name = data.get("class_name")
    return StyleEntry(
        name=str(name), engine=engine, description=str(data.get("description") or ""),
        checkpoint=checkpoint, sha256=(data.get("sha256") or None) and str(data["sha256"]).lower(),
        base=_resolve(data.get("base"), folder, f"{where}: base"),
        base_sha256=(data.get("base_sha256") or None) and str(data["base_sha256"]).lower(),
        swap_res=data.get("swap_res"), class_name=None if class_name is None else str(class_name),
        invert_steps=data.get("invert_steps"), perceptual=perceptual, registry=registry)


def read_registry_file(path: Path) -> dict[str, StyleEntry]:
    """Parse one registry file (missing file → no entries). UsageError for malformed files."""
    from .core.config import read_yaml_file

    path = Path(path)
    try:
        data = read_yaml_file(path, "weights registry")
    except FileNotFoundError:
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("styles") or {}, dict):
        raise UsageError(f"weights registry {path} must be a mapping with a 'styles' mapping")
    version = data.get("version", REGISTRY_VERSION)
    if version != REGISTRY_VERSION:
        raise UsageError(f"weights registry {path}: unsupported version {version!r} "
                         f"(this emoget reads {REGISTRY_VERSION})")
    return {str(n): _entry_from_yaml(str(n), d, path) for n, d in (data.get("styles") or {}).items()}


@dataclass
class Registry:
    """Merged view of the registry files; `entries` by style name."""

    entries: dict[str, StyleEntry]
    files: list[Path]

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> StyleEntry:
        from .core.choices import match_choice

        if name in self.entries:
            return self.entries[name]
        recipe = _catalogue_recipe(name)
        if recipe is not None:  # a style of the catalogue that is built once its weights are here
            raise DependencyError(f"style {name!r} needs generators that are not fetched yet: "
                                  f"`emoget weights fetch {recipe.base} {recipe.coarse} "
                                  "--accept-license` builds it (see weights/README.md)")
        # 'Baby' is baby; a near miss gets 'did you mean'
        return self.entries[match_choice(name, self.names(), "style")]


def _catalogue_recipe(name: str):
    """The shipped catalogue's recipe called `name`, or None (also when it cannot be read)."""
    from .core.errors import EmogetError

    try:
        from .catalogue import load_catalogue

        return load_catalogue().recipes.get(name)
    except (EmogetError, OSError):
        return None


def load_registry(paths: Optional[list[Path]] = None,
                  classic_descriptions: Optional[dict[str, str]] = None) -> Registry:
    """Merge the classic styles, the shipped registry and the user registry (in that order).

    classic_descriptions: name → one line for the built-in classic styles (style/ knows them:
    `style.load_style_registry` passes them; this module never imports style/, which imports it).
    """
    descriptions = classic_descriptions or {}
    entries = {name: StyleEntry(name, "classic", descriptions.get(name, ""))
               for name in CLASSIC_STYLE_NAMES}
    files = [shipped_registry_path(), user_registry_path()] if paths is None else [Path(p) for p in paths]
    for path in files:
        for name, entry in read_registry_file(path).items():
            if entry.engine == "classic" and name not in CLASSIC_STYLE_NAMES:
                raise UsageError(f"{path}: style {name!r} says engine classic, but the classic "
                                 f"engine has only {', '.join(sorted(CLASSIC_STYLE_NAMES))}")
            if entry.engine == "classic" and not entry.description:
                entry = replace(entry, description=entries[name].description)
            entries[name] = entry
    return Registry(entries, [p for p in files if p.is_file()])


# ------------------------------------------------------------------------------------ hashes --

_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, cached per (path, size, mtime) within the process."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DependencyError(f"{path}: no such file") from None
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        from .core.latent import file_sha256

        try:
            _HASH_CACHE[key] = file_sha256(path)
        except OSError as exc:
            raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _HASH_CACHE[key]


def check_file(path: Optional[Path], sha256: Optional[str], what: str) -> Path:
    """The file must exist (DependencyError, exit 8) and match its hash (CheckpointError, exit 5)."""
    if path is None:
        raise UsageError(f"{what}: no checkpoint file given")
    if not path.is_file():
        raise DependencyError(f"{what}: checkpoint {path} not found (see weights/README.md; "
                              "`emoget weights add NAME FILE` registers a checkpoint)")
    if sha256:
        actual = sha256_file(path)
        if actual != sha256:
            raise CheckpointError(f"{what}: checkpoint {path} does not match its sha256 "
                                  f"(expected {sha256[:12]}…, got {actual[:12]}…); the file is "
                                  "corrupt or was replaced — re-download it or `emoget weights add` it again")
    return path


@dataclass(frozen=True)
class VerifyResult:
    name: str
    engine: str
    ok: bool
    message: str


def verify_entry(entry: StyleEntry) -> VerifyResult:
    """Recheck an entry's files and hashes; never raises for a bad file."""
    if entry.engine == "classic":
        return VerifyResult(entry.name, entry.engine, True, "built in")
    try:
        check_file(entry.checkpoint, entry.sha256, f"style {entry.name!r}")
        if entry.base is not None:
            check_file(entry.base, entry.base_sha256, f"style {entry.name!r} base")
    except (DependencyError, CheckpointError, UsageError) as exc:
        return VerifyResult(entry.name, entry.engine, False, str(exc))
    return VerifyResult(entry.name, entry.engine, True, "sha256 ok")


def verify_fetched(registry_path: Optional[Path] = None) -> list[VerifyResult]:
    """Recheck every file `weights fetch` installed against its pinned sha256."""
    out = []
    for name, rec in read_fetched(Path(registry_path or user_registry_path())).items():
        path = Path(str(rec.get("file", "")))
        try:
            check_file(path, rec.get("sha256"), f"fetched file {name!r}")
        except (DependencyError, CheckpointError, UsageError) as exc:
            out.append(VerifyResult(name, "fetched", False, str(exc)))
            continue
        out.append(VerifyResult(name, "fetched", True, "sha256 ok"))
    return out


def add_style(name: str, checkpoint: Path, *, registry_path: Optional[Path] = None,
              base: Optional[Path] = None, class_name: Optional[str] = None,
              swap_res: Optional[int] = None, invert_steps: Optional[int] = None,
              perceptual: str = "auto", description: str = "", force: bool = False,
              validate: bool = True) -> StyleEntry:
    """Register `checkpoint` as gan style `name` in the user registry (or `registry_path`).

    The file's sha256 is computed (and the base's); with `validate` the checkpoint is opened
    with the gan package's safe loader first so a wrong file is refused now, not at `make` time.
    The registry file is rewritten atomically.
    """
    import yaml

    if not _NAME_RE.match(name):
        raise UsageError(f"bad style name {name!r}: use lowercase letters, digits, - _ .")
    if name in CLASSIC_STYLE_NAMES:
        raise UsageError(f"{name!r} is a built-in classic style; pick another name")
    if perceptual not in PERCEPTUAL_CHOICES:
        raise UsageError(f"perceptual must be one of {', '.join(PERCEPTUAL_CHOICES)}")
    registry_path = Path(registry_path or user_registry_path()).expanduser()
    files = {"checkpoint": Path(checkpoint).expanduser().resolve()}
    if base is not None:
        files["base"] = Path(base).expanduser().resolve()
    for key, path in files.items():
        if not path.is_file():
            raise DependencyError(f"{key} {path}: no such file")
    if validate:
        from .gan import load_checkpoint

        for path in files.values():
            load_checkpoint(path)  # CheckpointError for anything that is not a generator checkpoint
    existing = read_registry_file(registry_path)
    if name in existing and not force:
        raise UsageError(f"style {name!r} is already in {registry_path} (use --force to replace it)")
    entry = StyleEntry(name=name, engine="gan", description=description, checkpoint=files["checkpoint"],
                       sha256=sha256_file(files["checkpoint"]), base=files.get("base"),
                       base_sha256=sha256_file(files["base"]) if "base" in files else None,
                       swap_res=swap_res, class_name=class_name, invert_steps=invert_steps,
                       perceptual=perceptual, registry=registry_path)
    existing[name] = entry
    write_registry_file(registry_path, existing, read_fetched(registry_path))
    return entry


def write_registry_file(path: Path, styles: dict[str, StyleEntry],
                        fetched: Optional[dict[str, dict]] = None) -> None:
    """Rewrite a (user) registry file atomically: its styles and its `fetched` pins."""
    import yaml

    path = Path(path)
    doc: dict[str, Any] = {"version": REGISTRY_VERSION,
                           "styles": {n: e.to_yaml(path.parent.resolve()) for n, e in styles.items()}}
    if fetched:
        doc["fetched"] = fetched
    header = ("# emoget weights registry (written by `emoget weights add` / `weights fetch`; "
              "schema in emoget_cli/weights.py)\n")
    write_text_atomic(path, header + yaml.safe_dump(doc, sort_keys=False))


_FETCH_KEYS = {"file", "sha256", "source_sha256", "url", "licence", "licence_accepted"}


def read_fetched(path: Path) -> dict[str, dict]:
    """The `fetched` section of a registry file: catalogue name -> pin record (see the module
    docstring). Missing file or section -> {}; UsageError for a malformed one."""
    from .core.config import read_yaml_file

    path = Path(path)
    try:
        data = read_yaml_file(path, "weights registry")
    except FileNotFoundError:
        return {}
    section = (data or {}).get("fetched") if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise UsageError(f"weights registry {path}: 'fetched' must be a mapping")
    out = {}
    for name, rec in section.items():
        if not isinstance(rec, dict) or set(rec) - _FETCH_KEYS:
            raise UsageError(f"weights registry {path}: fetched entry {name!r} is malformed "
                             f"(keys: {', '.join(sorted(_FETCH_KEYS))})")
        for key in ("sha256", "source_sha256"):
            if rec.get(key) is not None and not _SHA_RE.match(str(rec[key])):
                raise UsageError(f"weights registry {path}: fetched {name!r}: {key} must be 64 "
                                 "lowercase hexadecimal digits")
        out[str(name)] = dict(rec)
    return out


def forget_fetch(name: str, *, registry_path: Optional[Path] = None) -> bool:
    """Drop a fetched file's pin (the file stays); False when there was none."""
    registry_path = Path(registry_path or user_registry_path()).expanduser()
    fetched = read_fetched(registry_path)
    if name not in fetched:
        return False
    del fetched[name]
    write_registry_file(registry_path, read_registry_file(registry_path), fetched)
    return True


def record_fetch(name: str, record: dict, *, registry_path: Optional[Path] = None,
                 style: Optional[StyleEntry] = None) -> Path:
    """Pin a fetched file (and optionally register a style built from it) in the user registry."""
    registry_path = Path(registry_path or user_registry_path()).expanduser()
    styles = read_registry_file(registry_path)
    fetched = read_fetched(registry_path)
    if name:
        fetched[name] = {k: v for k, v in record.items() if k in _FETCH_KEYS and v is not None}
    if style is not None:
        styles[style.name] = style
    write_registry_file(registry_path, styles, fetched)
    return registry_path
