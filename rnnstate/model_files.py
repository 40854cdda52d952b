"""A saved Keras model read from its file with every part bounded before it is inflated or read.

Keras's own load_model reads config.json whole, reads the weights member whole (or, when it
thinks memory is short, extracts it into the model's own folder) and unpacks every asset into
the temporary folder, and reads each HDF5 dataset whole before comparing its shape with the
model's; a bare `except:` around the extraction swallows Ctrl-C. rnnstate loads the same files
with the same Keras pieces, in this order instead:

1. the config (config.json, or a legacy .h5's model_config attribute) is read only if it
   declares at most config_limit() bytes;
2. the model is built from it (safe_mode=True, not compiled), so its weights' shapes are known;
3. the weights member of a .keras may declare at most weights_limit() of what those weights
   need, and every HDF5 dataset at most as many values as the model's largest weight: a crafted
   shape is refused before a byte of it is read;
4. the weights are read in place (from the zip member or the .h5), never copied to disk; assets
   are never unpacked (layers that keep state in them are named by `asset_layers`).

A FIFO is read whole first (bounded by the memory guard, with the waiting notice of data.py).
Keras internals used: serialization_lib (deserialize, ObjectSharingScope, SafeModeScope),
saving_lib (H5IOStore, _load_state), the legacy HDF5 loader's pieces.
"""

import io
import json
import math
import os
import stat
import zipfile

import numpy as np

from rnnstate.data import first_line, read_bytes, read_limit
from rnnstate.errors import InputError

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
CONFIG_LIMIT = 64 << 20  # bytes of a model's config read at most (real ones: kB to a few MB)
WEIGHTS_COPIES = 4  # a weights file may hold the model's weights and 3 optimizer slots each
HDF5_OVERHEAD = 1 << 20  # bytes of an HDF5 file's own structure, beyond its datasets ...
HDF5_OVERHEAD_PER_WEIGHT = 16 << 10  # ... and per dataset (groups, attributes, chunk index)


def config_limit() -> int:
    """The most bytes a model's config may declare: CONFIG_LIMIT, or less memory available."""
    return min(CONFIG_LIMIT, read_limit())


def weights_limit(model) -> int:
    """The most bytes a model's weights file may declare for `model`: its weights (with their
    optimizer slots) and the HDF5 file's structure."""
    variables = model.variables
    needed = sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)
    return WEIGHTS_COPIES * needed + HDF5_OVERHEAD + HDF5_OVERHEAD_PER_WEIGHT * len(variables)


def model_source(path: str) -> str | io.BytesIO:
    """What the model is read from: its path, or for a FIFO its bytes, read whole (bounded,
    saying on stderr that rnnstate waits when nothing comes)."""
    if stat.S_ISFIFO(os.stat(path).st_mode):
        return io.BytesIO(read_bytes(path))
    return path


def check_file(path: str, suffix: str, source) -> None:
    """What can be checked before TensorFlow is imported: a .keras is a plain zip archive whose
    config.json is within config_limit(); an .h5 is an HDF5 file whose model config is."""
    with open_archive(path, source) if suffix == ".keras" else open_hdf5(path, source):
        pass


def open_archive(path: str, source) -> zipfile.ZipFile:
    """The .keras zip archive `source`, checked: config.json there and within config_limit(),
    no member encrypted."""
    try:
        archive = zipfile.ZipFile(source)
        members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise InputError(
            path, f"is not a .keras model (not a valid zip archive: {first_line(error)})"
        ) from None
    try:
        if CONFIG not in members:
            raise InputError(path, "is a zip archive but not a .keras model: it has no config.json")
        for info in members.values():
            if info.flag_bits & 0x1:
                raise InputError(path, f"member {info.filename!r} is encrypted; expected a plain "
                                       ".keras archive")  # fmt: skip
        check_declared(path, CONFIG, members[CONFIG].file_size, config_limit(), "config")
    except InputError:
        archive.close()
        raise
    return archive


def load_keras_archive(keras, path: str, source) -> tuple[object, list[str]]:
    """(model, names of the archive's asset members) from a .keras zip archive `source`."""
    with open_archive(path, source) as archive:
        members = {info.filename: info for info in archive.infolist()}
        text = read_member(path, archive, CONFIG)
        model = guarded(keras, path, lambda: model_from_config(text))
        if WEIGHTS not in members:
            other = "model.weights.npz, which rnnstate does not read" if (
                "model.weights.npz" in members) else "none"  # fmt: skip
            raise InputError(path, f"has no {WEIGHTS} (weights: {other}); expected a model saved "
                                   "by model.save")  # fmt: skip
        weights = members[WEIGHTS]
        check_declared(path, WEIGHTS, weights.file_size, weights_limit(model), "weights")
        guarded(keras, path, lambda: load_archive_weights(path, archive, model))
    assets = [name for name in members if name.startswith("assets/") and not name.endswith("/")]
    return model, assets


def check_declared(path: str, member: str, declared: int, limit: int, what: str) -> None:
    """Refuse a member whose declared (inflated) size is over `limit`, before inflating it.
    Python's zipfile never returns more than a member declares."""
    if declared > limit:
        needs = "the model's config describes" if what == "weights" else "rnnstate reads"
        raise InputError(
            path, f"{member} inflates to {declared / 1e6:.1f} MB, more than the "
            f"{limit / 1e6:.1f} MB {needs} for its {what}; expected a model saved by model.save",
        )  # fmt: skip


def read_member(path: str, archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes (its declared size checked before)."""
    try:
        with archive.open(name) as member:
            return member.read()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError,
            NotImplementedError) as error:  # fmt: skip
        raise InputError(path, f"member {name!r} cannot be read: {first_line(error)}") from None


def guarded(keras, path: str, step):
    """step(), with anything Keras (or h5py) raises on the file as one InputError line."""
    from rnnstate.models import load_problem

    try:
        return step()
    except InputError:
        raise
    except Exception as error:  # Keras raises many types for a file it cannot load
        raise InputError(path, load_problem(keras, error)) from None


def model_from_config(text: bytes | str):
    """The model a .keras config describes, built as Keras's load_model builds it with
    safe_mode=True and compile=False."""
    from keras.src.saving import serialization_lib

    config = json.loads(text)
    config["compile_config"] = None
    with serialization_lib.ObjectSharingScope():
        return serialization_lib.deserialize_keras_object(config, safe_mode=True)


def load_archive_weights(path: str, archive: zipfile.ZipFile, model) -> None:
    """Read the weights member in place into `model`, each dataset's shape checked first."""
    from keras.src.saving import saving_lib

    store = saving_lib.H5IOStore(WEIGHTS, archive=archive, mode="r")
    try:
        check_datasets(path, store.h5_file, model)
        failed: set = set()
        problems: dict = {}
        saving_lib._load_state(model, weights_store=store, assets_store=None, inner_path="",
                               visited_saveables=set(), failed_saveables=failed,
                               error_msgs=problems)  # fmt: skip
    finally:
        store.close()
    if failed:
        layer, error = next(iter(problems.values()))
        raise InputError(path, f"its weights do not fit the model its config describes "
                               f"(layer {layer.name!r}: {first_line(error)})")  # fmt: skip


def check_datasets(path: str, group, model) -> None:
    """Refuse an HDF5 dataset that declares more values than the model's largest weight (or
    items over 8 bytes), from its declared shape, before anything of it is read."""
    import h5py

    largest = max((math.prod(v.shape) for v in model.variables), default=0)
    found = []

    def visit(name: str, item) -> None:
        if isinstance(item, h5py.Dataset) and not found:
            values = math.prod(item.shape or ())
            if values > max(largest, 1) or item.dtype.itemsize > 8:
                found.append((name, item.shape, item.dtype))

    group.visititems(visit)
    if found:
        name, shape, dtype = found[0]
        raise InputError(
            path, f"its weights dataset {name!r} declares shape {shape} of {dtype}, larger than "
            f"any weight of the model its config describes (at most {largest} values)",
        )  # fmt: skip


def open_hdf5(path: str, source):
    """The legacy .h5 file `source` (an h5py.File), checked: its model config there and
    within config_limit()."""
    import h5py

    try:
        file = h5py.File(source, "r")
    except OSError as error:
        raise InputError(path, f"is not a valid HDF5 file: {first_line(error)}") from None
    try:
        if "model_config" not in file.attrs:
            raise InputError(
                path, "cannot be loaded as a Keras model: it holds no model config (weights "
                "only?); expected a file saved by model.save",
            )  # fmt: skip
        declared = file.attrs.get_id("model_config").get_storage_size()
        check_declared(path, "its model_config", declared, config_limit(), "config")
    except InputError:
        file.close()
        raise
    return file


def load_hdf5(keras, path: str, source):
    """The model of a legacy full-model .h5/.hdf5 file `source`, loaded as Keras's
    load_model_from_hdf5 does (safe_mode=True, not compiled), its config and datasets bounded."""
    with open_hdf5(path, source) as file:
        return guarded(keras, path, lambda: hdf5_model(path, file))


def hdf5_model(path: str, file):
    """Build the model of an open legacy .h5 file and read its weights in place."""
    from keras.src.legacy.saving import json_utils, legacy_h5_format, saving_options, saving_utils
    from keras.src.saving import serialization_lib

    text = file.attrs["model_config"]
    config = json_utils.decode(text.decode("utf-8") if hasattr(text, "decode") else text)
    with saving_options.keras_option_scope(use_legacy_config=True), \
            serialization_lib.SafeModeScope(True):  # fmt: skip
        model = saving_utils.model_from_config(config, custom_objects={})
        if "model_weights" not in file:
            raise InputError(path, "holds a model config but no model_weights; expected a file "
                                   "saved by model.save")  # fmt: skip
        weights = file["model_weights"]
        check_datasets(path, weights, model)
        legacy_h5_format.load_weights_from_hdf5_group(weights, model)
    return model


def asset_layers(keras, model, assets: list[str]) -> list[str]:
    """The names of the model's layers that keep state in assets (lookup vocabularies), when
    the archive has assets: rnnstate never unpacks them, so those layers cannot run."""
    from rnnstate.models import all_layers

    if not assets:
        return []
    return [layer.name for layer in all_layers(keras, model) if hasattr(layer, "load_assets")]


def check_finite_weights(keras, path: str, model) -> None:
    """Refuse a model with NaN or infinite weights, naming the first: its layer, the weight
    and the index."""
    from rnnstate.models import all_layers

    for layer in all_layers(keras, model):
        if isinstance(layer, keras.Model):
            continue  # its layers come next
        for weight in layer.weights:
            values = weight.value.numpy()  # (np.asarray(weight) warns in Keras)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                index = [int(i) for i in np.argwhere(~np.isfinite(values))[0]]
                name = weight.path.split(f"{layer.name}/", 1)[-1]
                raise InputError(
                    path, f"layer {layer.name!r} holds {values[tuple(index)]} in its weight "
                    f"{name!r} at index {index}; expected finite numbers in every weight",
                )  # fmt: skip
