"""The catalog: every dataset class torchvision exports, plus visiondata's own fast paths.

Each entry is data: the task, the split vocabulary and how each split maps to
the constructor's own arguments, and the metadata. Factories are strings or
`TorchvisionFactory` records, so registering costs no import of torch
or torchvision.
"""

from __future__ import annotations

from typing import Any

from visiondata.datasets._catalog import register_dataset
from visiondata.datasets._torchvision import TorchvisionFactory

SEE_HOMEPAGE = "see the homepage"

# ---------------------------------------------------------------- split mappings
TRAIN_FLAG = {"train": {"train": True}, "test": {"train": False}}
WHOLE = {"all": {}}


def split_values(*names: str, **renamed: str) -> dict[str, dict[str, str]]:
    """``split=`` mappings: ``split_values("train", "test", val="valid")``."""
    mapping = {name: {"split": name} for name in names}
    mapping.update({ours: {"split": theirs} for ours, theirs in renamed.items()})
    return mapping


def keyed(keyword: str, **values: Any) -> dict[str, dict[str, Any]]:
    """Mappings through another keyword: ``keyed("image_set", train="train", val="val")``."""
    return {split: {keyword: value} for split, value in values.items()}


# ---------------------------------------------------------------- class names
DIGITS = tuple(str(digit) for digit in range(10))
MNIST_CLASSES = (
    "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
    "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
)  # fmt: skip
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
KMNIST_CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip
STL10_CLASSES = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
IMAGENETTE_CLASSES = (
    "tench", "English springer", "cassette player", "chain saw", "church",
    "French horn", "garbage truck", "gas pump", "golf ball", "parachute",
)  # fmt: skip
DTD_CLASSES = (
    "banded", "blotchy", "braided", "bubbly", "bumpy", "chequered", "cobwebbed", "cracked", "crosshatched",
    "crystalline", "dotted", "fibrous", "flecked", "freckled", "frilly", "gauzy", "grid", "grooved",
    "honeycombed", "interlaced", "knitted", "lacelike", "lined", "marbled", "matted", "meshed", "paisley",
    "perforated", "pitted", "pleated", "polka-dotted", "porous", "potholed", "scaly", "smeared", "spiralled",
    "sprinkled", "stained", "stratified", "striped", "studded", "swirly", "veined", "waffled", "woven",
    "wrinkled", "zigzagged",
)  # fmt: skip
FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EUROSAT_CLASSES = (
    "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture", "PermanentCrop", "Residential", "River", "SeaLake",
)  # fmt: skip
VOC_CLASSES = (
    "__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
# COCO's names indexed by category id (1-90, "N/A" in the gaps): the label space of torchvision's pretrained
# detectors (their weights.meta["categories"]).
COCO_CATEGORY_TABLE = (
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
    "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
    "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A", "toilet",
    "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "N/A", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
# coco_detection's labels, as CocoDetectionDataset numbers them: the background, then the 80 categories in
# order of their ids; COCO_CATEGORY_IDS[label] is the label's COCO category id (dataset.category_ids).
COCO_CLASSES = tuple(name for name in COCO_CATEGORY_TABLE if name != "N/A")
COCO_CATEGORY_IDS = (
    None,
    *(category for category, name in enumerate(COCO_CATEGORY_TABLE) if category and name != "N/A"),
)
# Cityscapes' label ids 0-33 (cityscapesScripts' labels.py; torchvision.datasets.Cityscapes.classes): the values
# of its *_labelIds.png masks. License plate (-1) is not a value of those files.
CITYSCAPES_CLASSES = (
    "unlabeled", "ego vehicle", "rectification border", "out of roi", "static", "dynamic", "ground", "road",
    "sidewalk", "parking", "rail track", "building", "wall", "fence", "guard rail", "bridge", "tunnel", "pole",
    "polegroup", "traffic light", "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
    "truck", "bus", "caravan", "trailer", "train", "motorcycle", "bicycle",
)  # fmt: skip
KITTI_CLASSES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare")

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def torchvision(
    name: str, class_name: str, split_arguments: dict[str, dict[str, Any]], **options: Any
) -> None:
    """Register one torchvision class; ``options`` are factory settings and metadata."""
    factory = TorchvisionFactory(
        class_name,
        schema=options.pop("schema", "plain"),
        renames=options.pop("renames", {}),
        defaults=options.pop("defaults", {}),
        kwargs_from=options.pop("kwargs_from", None),
        requires=options.pop("requires", ()),
        hidden=options.pop("hidden", ()),
    )
    options.setdefault("license", SEE_HOMEPAGE)
    # The standard splits come first, so that the default split (the first) is "train" where there is one.
    standard = [split for split in ("train", "trainval", "val", "test") if split in split_arguments]
    ordered = {split: split_arguments[split] for split in [*standard, *split_arguments]}
    register_dataset(
        name,
        factory,
        split_arguments=ordered,
        source=factory.wraps,
        wraps=factory.wraps,
        **options,
    )


# ---------------------------------------------------------------- visiondata's own fast paths
def _idx_family(name: str, class_name: str, torchvision_class: str, **metadata: Any) -> None:
    register_dataset(
        name,
        f"visiondata.datasets._mnist:{class_name}",
        task="classification",
        splits=("train", "test"),
        source=f"visiondata.datasets.{class_name}",
        wraps=f"torchvision.datasets.{torchvision_class}",
        image_size=(28, 28),
        channels=1,
        download=True,
        **metadata,
    )


_idx_family(
    "mnist",
    "MNISTDataset",
    "MNIST",
    classes=MNIST_CLASSES,
    mean=(0.1307,),
    std=(0.3081,),
    license="CC BY-SA 3.0",
    homepage="http://yann.lecun.com/exdb/mnist/",
    description="Handwritten digits 0-9: 60,000 training and 10,000 test greyscale images.",
)
_idx_family(
    "fashion_mnist",
    "FashionMNISTDataset",
    "FashionMNIST",
    classes=FASHION_MNIST_CLASSES,
    mean=(0.2860,),
    std=(0.3530,),
    license="MIT",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    description="Zalando article images in 10 classes, a drop-in replacement for MNIST.",
)
_idx_family(
    "kmnist",
    "KMNISTDataset",
    "KMNIST",
    classes=KMNIST_CLASSES,
    mean=(0.1918,),
    std=(0.3483,),
    license="CC BY-SA 4.0",
    homepage="https://github.com/rois-codh/kmnist",
    description="Kuzushiji-MNIST: 10 classes of cursive Japanese (Hiragana) characters.",
)

# ---------------------------------------------------------------- streaming shards
register_dataset(
    "shards",
    "visiondata.shards._dataset:from_catalog",
    task="other",
    splits=("train", "val", "test"),
    source="visiondata.shards.ShardDataset",
    homepage="https://github.com/webdataset/webdataset",
    license="as the source dataset's",
    description="WebDataset tar shards written by visiondata's write_shards or `visiondata export`, streamed back; "
    "the task and classes come from the shard set's manifest.",
)


# ---------------------------------------------------------------- classification
torchvision(
    "emnist",
    "EMNIST",
    TRAIN_FLAG,
    task="classification",
    renames={"variant": "split"},
    defaults={"variant": "balanced"},
    kwargs_from="MNIST",
    image_size=(28, 28),
    channels=1,
    download=True,
    homepage="https://www.nist.gov/itl/products-and-services/emnist-dataset",
    description="Extended MNIST: handwritten digits and letters; variant= byclass, bymerge, balanced "
    "(default), letters, digits or mnist.",
)
torchvision(
    "qmnist",
    "QMNIST",
    keyed("what", train="train", test="test", test10k="test10k", test50k="test50k", nist="nist"),
    task="classification",
    kwargs_from="MNIST",
    classes=MNIST_CLASSES,
    hidden=("train",),
    image_size=(28, 28),
    channels=1,
    download=True,
    homepage="https://github.com/facebookresearch/qmnist",
    description="MNIST reconstructed from NIST: 60,000 more test digits, with extended labels.",
)
torchvision(
    "cifar10",
    "CIFAR10",
    TRAIN_FLAG,
    task="classification",
    classes=CIFAR10_CLASSES,
    image_size=(32, 32),
    channels=3,
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    download=True,
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    description="60,000 colour 32x32 images in 10 classes (50,000 train, 10,000 test).",
)
torchvision(
    "cifar100",
    "CIFAR100",
    TRAIN_FLAG,
    task="classification",
    classes=CIFAR100_CLASSES,
    image_size=(32, 32),
    channels=3,
    mean=(0.5071, 0.4865, 0.4409),
    std=(0.2673, 0.2564, 0.2762),
    download=True,
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    description="60,000 colour 32x32 images in 100 fine classes (50,000 train, 10,000 test).",
)
torchvision(
    "stl10",
    "STL10",
    split_values("train", "test", "unlabeled", "train+unlabeled"),
    task="classification",
    classes=STL10_CLASSES,
    image_size=(96, 96),
    channels=3,
    mean=(0.4467, 0.4398, 0.4066),
    std=(0.2603, 0.2566, 0.2713),
    download=True,
    homepage="https://cs.stanford.edu/~acoates/stl10/",
    description="96x96 images in 10 classes, 5,000 labelled for training and 100,000 unlabelled "
    "(unlabelled samples have label -1).",
)
torchvision(
    "svhn",
    "SVHN",
    split_values("train", "test", "extra"),
    requires=(("scipy", "scipy"),),
    task="classification",
    classes=DIGITS,
    image_size=(32, 32),
    channels=3,
    mean=(0.4377, 0.4438, 0.4728),
    std=(0.1980, 0.2010, 0.1970),
    download=True,
    license="non-commercial use only",
    homepage="http://ufldl.stanford.edu/housenumbers/",
    description="Street View House Numbers: cropped 32x32 digits; label 10 of the .mat files is 0.",
)
torchvision(
    "usps",
    "USPS",
    TRAIN_FLAG,
    task="classification",
    classes=DIGITS,
    image_size=(16, 16),
    channels=1,
    download=True,
    homepage="https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps",
    description="US Postal Service handwritten digits, 16x16 greyscale (7,291 train, 2,007 test).",
)
torchvision(
    "semeion",
    "SEMEION",
    WHOLE,
    task="classification",
    classes=DIGITS,
    image_size=(16, 16),
    channels=1,
    download=True,
    homepage="https://archive.ics.uci.edu/dataset/178/semeion+handwritten+digit",
    description="1,593 handwritten digits, 16x16 binary images.",
)
torchvision(
    "omniglot",
    "Omniglot",
    keyed("background", train=True, test=False),
    task="classification",
    channels=1,
    image_size=(105, 105),
    download=True,
    license="MIT",
    homepage="https://github.com/brendenlake/omniglot",
    description="1,623 handwritten characters from 50 alphabets; train is the 'background' set, "
    "test the 'evaluation' set.",
)
torchvision(
    "fake_data",
    "FakeData",
    keyed("random_offset", train=0, val=10**8, test=2 * 10**8),
    task="classification",
    channels=3,
    image_size=(224, 224),
    license="not applicable (generated)",
    homepage="https://pytorch.org/vision/stable/generated/torchvision.datasets.FakeData.html",
    description="Random images, generated on the fly (no files); each split draws other images.",
)
torchvision(
    "imagenet",
    "ImageNet",
    split_values("train", "val"),
    task="classification",
    kwargs_from="ImageFolder",
    num_classes=1000,
    image_size=(224, 224),
    channels=3,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    license="non-commercial research (ImageNet terms of access)",
    homepage="https://www.image-net.org/",
    description="ILSVRC 2012 classification: 1.28 million training and 50,000 validation images, 1,000 "
    "classes. No download: place ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar and "
    "ILSVRC2012_devkit_t12.tar.gz in root.",
)
torchvision(
    "imagenette",
    "Imagenette",
    split_values("train", "val"),
    task="classification",
    classes=IMAGENETTE_CLASSES,
    image_size=(320, 320),
    channels=3,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    download=True,
    license="Apache 2.0",
    homepage="https://github.com/fastai/imagenette",
    description="10 easy ImageNet classes; size= full (default), 320px or 160px.",
)
torchvision(
    "lsun",
    "LSUN",
    keyed("classes", train="train", val="val", test="test"),
    requires=(("lmdb", "lmdb"),),
    task="classification",
    image_size=(256, 256),
    channels=3,
    homepage="https://www.yf.io/p/lsun",
    description="Large-scale scene understanding: 10 scene categories stored as LMDB databases.",
)
torchvision(
    "caltech101",
    "Caltech101",
    WHOLE,
    task="classification",
    num_classes=101,
    channels=3,
    image_size=(300, 200),
    download=True,
    license="CC BY 4.0",
    homepage="https://data.caltech.edu/records/mzrjq-6wc02",
    description="9,146 images of 101 object categories (the background class is left out).",
)
torchvision(
    "caltech256",
    "Caltech256",
    WHOLE,
    task="classification",
    num_classes=257,
    channels=3,
    image_size=(300, 300),
    download=True,
    license="CC BY 4.0",
    homepage="https://data.caltech.edu/records/nyy15-4j048",
    description="30,607 images of 256 object categories plus a clutter class.",
)
torchvision(
    "celeba",
    "CelebA",
    split_values("train", "test", "all", val="valid"),
    task="multilabel",
    num_classes=40,
    image_size=(218, 178),
    channels=3,
    download=True,
    license="non-commercial research",
    homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    description="202,599 face images with 40 binary attributes (target_type= attr (default), identity, "
    "bbox, landmarks).",
)
torchvision(
    "places365",
    "Places365",
    split_values("val", "test", train="train-standard", **{"train-challenge": "train-challenge"}),
    task="classification",
    num_classes=365,
    image_size=(256, 256),
    channels=3,
    download=True,
    homepage="http://places2.csail.mit.edu/",
    description="1.8 million scene images in 365 categories (train-challenge: 8 million); small=True "
    "gives the 256x256 version.",
)
torchvision(
    "food101",
    "Food101",
    split_values("train", "test"),
    task="classification",
    num_classes=101,
    image_size=(512, 512),
    channels=3,
    download=True,
    homepage="https://data.vision.ee.ethz.ch/cvl/datasets_extra/food-101/",
    description="101,000 food photos in 101 categories (750 train, 250 test per class).",
)
torchvision(
    "dtd",
    "DTD",
    split_values("train", "val", "test"),
    task="classification",
    classes=DTD_CLASSES,
    image_size=(300, 300),
    channels=3,
    download=True,
    license="research only",
    homepage="https://www.robots.ox.ac.uk/~vgg/data/dtd/",
    description="Describable Textures: 5,640 images in 47 texture categories; partition= 1 to 10.",
)
torchvision(
    "fer2013",
    "FER2013",
    split_values("train", "test"),
    task="classification",
    classes=FER2013_CLASSES,
    image_size=(48, 48),
    channels=1,
    homepage="https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge",
    description="48x48 greyscale faces labelled with 7 expressions. No download: place the Kaggle "
    "CSV files in root/fer2013.",
)
torchvision(
    "gtsrb",
    "GTSRB",
    split_values("train", "test"),
    task="classification",
    num_classes=43,
    image_size=(50, 50),
    channels=3,
    download=True,
    homepage="https://benchmark.ini.rub.de/",
    description="German Traffic Sign Recognition Benchmark: 43 classes of traffic signs.",
)
torchvision(
    "clevr_classification",
    "CLEVRClassification",
    split_values("train", "val", "test"),
    task="classification",
    num_classes=8,
    image_size=(320, 480),
    channels=3,
    download=True,
    license="CC BY 4.0",
    homepage="https://cs.stanford.edu/people/jcjohns/clevr/",
    description="CLEVR scenes labelled with the number of objects (3-10); the test split has no labels.",
)
torchvision(
    "oxford_iiit_pet",
    "OxfordIIITPet",
    split_values("trainval", "test"),
    task="classification",
    num_classes=37,
    image_size=(400, 500),
    channels=3,
    download=True,
    license="CC BY-SA 4.0",
    homepage="https://www.robots.ox.ac.uk/~vgg/data/pets/",
    description="37 cat and dog breeds, about 200 images each; target_types= category (default), "
    "binary-category or segmentation.",
)
torchvision(
    "pcam",
    "PCAM",
    split_values("train", "val", "test"),
    requires=(("h5py", "h5py"),),
    task="classification",
    classes=("normal", "tumor"),
    image_size=(96, 96),
    channels=3,
    download=True,
    license="CC0 1.0",
    homepage="https://github.com/basveeling/pcam",
    description="PatchCamelyon: 327,680 histopathology patches labelled for metastatic tissue (needs h5py).",
)
torchvision(
    "country211",
    "Country211",
    split_values("train", "test", val="valid"),
    task="classification",
    num_classes=211,
    image_size=(400, 400),
    channels=3,
    download=True,
    homepage="https://github.com/openai/CLIP/blob/main/data/country211.md",
    description="Photos geolocated in 211 countries, from YFCC100M.",
)
torchvision(
    "fgvc_aircraft",
    "FGVCAircraft",
    split_values("train", "val", "trainval", "test"),
    task="classification",
    num_classes=100,
    image_size=(700, 1000),
    channels=3,
    download=True,
    license="non-commercial research",
    homepage="https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/",
    description="10,000 aircraft photos; annotation_level= variant (100, default), family (70) or "
    "manufacturer (30).",
)
torchvision(
    "eurosat",
    "EuroSAT",
    WHOLE,
    task="classification",
    classes=EUROSAT_CLASSES,
    image_size=(64, 64),
    channels=3,
    download=True,
    license="MIT",
    homepage="https://github.com/phelber/EuroSAT",
    description="27,000 Sentinel-2 satellite patches (RGB) in 10 land-use classes.",
)
torchvision(
    "rendered_sst2",
    "RenderedSST2",
    split_values("train", "val", "test"),
    task="classification",
    classes=("negative", "positive"),
    image_size=(448, 448),
    channels=3,
    download=True,
    homepage="https://github.com/openai/CLIP/blob/main/data/rendered-sst2.md",
    description="Sentences of the Stanford Sentiment Treebank rendered as images, labelled by sentiment.",
)
torchvision(
    "flowers102",
    "Flowers102",
    split_values("train", "val", "test"),
    task="classification",
    num_classes=102,
    image_size=(500, 500),
    channels=3,
    download=True,
    homepage="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/",
    description="Oxford 102 Flowers: 8,189 images of 102 flower species.",
)
torchvision(
    "stanford_cars",
    "StanfordCars",
    split_values("train", "test"),
    task="classification",
    num_classes=196,
    image_size=(360, 640),
    channels=3,
    hidden=("download",),
    license="non-commercial research",
    homepage="https://ai.stanford.edu/~jkrause/cars/car_dataset.html",
    description="16,185 car images in 196 make/model/year classes. No download (the original URL is "
    "gone): place the files in root/stanford_cars by hand.",
)
torchvision(
    "sun397",
    "SUN397",
    WHOLE,
    task="classification",
    num_classes=397,
    image_size=(400, 500),
    channels=3,
    download=True,
    homepage="https://vision.princeton.edu/projects/2010/SUN/",
    description="108,754 scene images in 397 categories.",
)
torchvision(
    "inaturalist",
    "INaturalist",
    {
        "train": {"version": "2021_train"},
        "val": {"version": "2021_valid"},
        "train-mini": {"version": "2021_train_mini"},
    },
    task="classification",
    num_classes=10000,
    image_size=(500, 500),
    channels=3,
    download=True,
    homepage="https://github.com/visipedia/inat_comp",
    description="iNaturalist 2021 species photos, 10,000 species; target_type= full (default), kingdom, "
    "phylum, class, order, family, genus.",
)
torchvision(
    "lfw_people",
    "LFWPeople",
    split_values("train", "test", "10fold"),
    task="classification",
    image_size=(250, 250),
    channels=3,
    hidden=("download",),
    homepage="http://vis-www.cs.umass.edu/lfw/",
    description="Labeled Faces in the Wild, identity classification; image_set= funneled (default), "
    "original or deepfunneled. No download (no longer offered): place the files in root/lfw-py by hand.",
)

# ---------------------------------------------------------------- pairs and patches
torchvision(
    "lfw_pairs",
    "LFWPairs",
    split_values("train", "test", "10fold"),
    task="other",
    image_size=(250, 250),
    channels=3,
    hidden=("download",),
    homepage="http://vis-www.cs.umass.edu/lfw/",
    description="Labeled Faces in the Wild, face verification: samples are (image1, image2, same). No "
    "download (no longer offered): place the files in root/lfw-py by hand.",
)
torchvision(
    "phototour",
    "PhotoTour",
    TRAIN_FLAG,
    task="other",
    image_size=(64, 64),
    channels=1,
    download=True,
    homepage="http://matthewalunbrown.com/patchdata/patchdata.html",
    description="Multi-view stereo patches; name= notredame, yosemite, liberty (or the _harris variants). "
    "Train samples are patches, test samples (patch1, patch2, match).",
)

# ---------------------------------------------------------------- detection
# COCO and VOC are read by visiondata's own readers (one reader per format): the same file gives the same
# samples here as through CocoDetectionDataset / VOCDetectionDataset. They mirror torchvision's classes.
register_dataset(
    "coco_detection",
    "visiondata.datasets._detection_catalog:coco_detection",
    task="detection",
    splits=("train", "val"),
    source="visiondata.formats.CocoDetectionDataset",
    wraps="torchvision.datasets.CocoDetection",
    classes=COCO_CLASSES,
    image_size=(480, 640),
    channels=3,
    license="CC BY 4.0 (annotations); Flickr terms (images)",
    homepage="https://cocodataset.org/",
    description="COCO 2017 object detection, read by CocoDetectionDataset. Layout: root/coco/{train,val}2017/"
    "*.jpg and root/coco/annotations/instances_{train,val}2017.json. Labels 1-80 index the classes (0 is the "
    "background); dataset.category_ids[label] is the COCO category id.",
)
register_dataset(
    "voc_detection",
    "visiondata.datasets._detection_catalog:voc_detection",
    task="detection",
    splits=("train", "val", "trainval", "test"),
    source="visiondata.formats.VOCDetectionDataset",
    wraps="torchvision.datasets.VOCDetection",
    classes=VOC_CLASSES,
    image_size=(375, 500),
    channels=3,
    download=True,
    license="Flickr terms of use",
    homepage="http://host.robots.ox.ac.uk/pascal/VOC/",
    description="PASCAL VOC object detection, 20 classes, read by VOCDetectionDataset; year= 2007 to 2012 "
    "(default 2012; the test split is 2007's, the only year with test annotations). Labels index the "
    "classes with 0 for background; boxes are 0-based corners (VOC's xmin - 1, ymin - 1, xmax, ymax).",
)
register_dataset(
    "shapes",
    "visiondata.datasets._shapes:shapes",
    task="detection",
    splits=("train", "val", "test"),
    source="visiondata.datasets.ShapesDataset",
    classes=("__background__", "circle", "square", "triangle", "star", "cross", "ring", "hexagon"),
    image_size=(160, 160),
    channels=3,
    license="CC0 1.0 (generated; no data files)",
    description="Synthetic detection: 1-6 coloured shapes (circle, square, triangle, star, cross, ring, hexagon) "
    "per image on noisy gradient backgrounds, drawn on the fly from (seed, split, index); boxes are the tight "
    "boxes of each shape's visible pixels. Splits train/val/test (4000/500/500 by default: count=); size=, seed=, "
    "classes=, max_shapes=, masks=. Nothing to download.",
)
torchvision(
    "kitti",
    "Kitti",
    TRAIN_FLAG,
    task="detection",
    schema="detection",
    classes=KITTI_CLASSES,
    image_size=(375, 1242),
    channels=3,
    download=True,
    license="CC BY-NC-SA 3.0",
    homepage="https://www.cvlibs.net/datasets/kitti/eval_object.php?obj_benchmark=2d",
    description="KITTI 2D object detection: street scenes with 8 classes plus DontCare; the test split "
    "has no labels (target None).",
)
torchvision(
    "widerface",
    "WIDERFace",
    split_values("train", "val", "test"),
    task="detection",
    schema="detection",
    classes=("__background__", "face"),
    image_size=(768, 1024),
    channels=3,
    download=True,
    license="non-commercial research",
    homepage="http://shuoyang1213.me/WIDERFACE/",
    description="32,203 images with 393,703 labelled faces (label 1); the test split has no labels.",
)

# ---------------------------------------------------------------- segmentation
# Every segmentation entry yields SegmentationFolderDataset's dict: (tv_tensors.Image, {"mask": tv_tensors.Mask
# int64 (H, W), "image_id": int}), void pixels kept as ignore_index 255. VOC and Cityscapes are read by that
# reader; SBD's .mat masks by torchvision's SBDataset behind an adapter (visiondata.datasets._segmentation_catalog).
register_dataset(
    "voc_segmentation",
    "visiondata.datasets._segmentation_catalog:voc_segmentation",
    task="segmentation",
    splits=("train", "val", "trainval", "test"),
    source="visiondata.formats.SegmentationFolderDataset",
    wraps="torchvision.datasets.VOCSegmentation",
    classes=VOC_CLASSES,
    image_size=(375, 500),
    channels=3,
    download=True,
    license="Flickr terms of use",
    homepage="http://host.robots.ox.ac.uk/pascal/VOC/",
    description="PASCAL VOC semantic segmentation, read by SegmentationFolderDataset: masks of class ids, 0 "
    "background, 1-20 the classes, 255 (ignore_index) VOC's void borders. year= 2007 to 2012 (default 2012; "
    "the test split is 2007's).",
)
register_dataset(
    "cityscapes",
    "visiondata.datasets._segmentation_catalog:cityscapes",
    task="segmentation",
    splits=("train", "val", "test", "train_extra"),
    source="visiondata.formats.SegmentationFolderDataset",
    wraps="torchvision.datasets.Cityscapes",
    classes=CITYSCAPES_CLASSES,
    image_size=(1024, 2048),
    channels=3,
    license="Cityscapes terms (non-commercial)",
    homepage="https://www.cityscapes-dataset.com/",
    description="Urban street scenes, read by SegmentationFolderDataset from leftImg8bit/ and the "
    "*_gtFine_labelIds.png masks (label ids 0-33). No download: register on the homepage. mode= fine "
    "(default) or coarse; train_extra is for coarse.",
)
register_dataset(
    "sbd",
    "visiondata.datasets._segmentation_catalog:sbd",
    task="segmentation",
    splits=("train", "val", "train_noval"),
    source="visiondata.datasets._segmentation_catalog.SBDSegmentation",
    wraps="torchvision.datasets.SBDataset",
    classes=VOC_CLASSES,
    image_size=(375, 500),
    channels=3,
    download=True,
    license=SEE_HOMEPAGE,
    homepage="http://home.bharathh.info/pubs/codes/SBD/download.html",
    description="Semantic Boundaries Dataset: VOC 2011 images with class masks of VOC's classes, read by "
    "torchvision's SBDataset (needs scipy) and given as the segmentation dict.",
)

# ---------------------------------------------------------------- captioning
torchvision(
    "coco_captions",
    "CocoCaptions",
    {
        split: {
            "root": f"{{root}}/coco/{split}2017",
            "annFile": f"{{root}}/coco/annotations/captions_{split}2017.json",
        }
        for split in ("train", "val")
    },
    requires=(("pycocotools", "pycocotools"),),
    task="captioning",
    schema="captioning",
    image_size=(480, 640),
    channels=3,
    license="CC BY 4.0 (annotations); Flickr terms (images)",
    homepage="https://cocodataset.org/",
    description="COCO 2017 captions, about 5 per image (needs pycocotools). Layout: "
    "root/coco/{train,val}2017/*.jpg and root/coco/annotations/captions_{train,val}2017.json.",
)
torchvision(
    "flickr8k",
    "Flickr8k",
    {"all": {"root": "{root}/flickr8k/images", "ann_file": "{root}/flickr8k/captions.html"}},
    task="captioning",
    schema="captioning",
    image_size=(375, 500),
    channels=3,
    license="research only",
    homepage="http://hockenmaier.cs.illinois.edu/8k-pictures.html",
    description="8,000 Flickr images with 5 captions each. Layout: root/flickr8k/images/*.jpg and the "
    "captions web page saved as root/flickr8k/captions.html.",
)
torchvision(
    "flickr30k",
    "Flickr30k",
    {"all": {"root": "{root}/flickr30k/images", "ann_file": "{root}/flickr30k/results_20130124.token"}},
    task="captioning",
    schema="captioning",
    image_size=(375, 500),
    channels=3,
    license="research only",
    homepage="https://shannon.cs.illinois.edu/DenotationGraph/",
    description="31,783 Flickr images with 5 captions each. Layout: root/flickr30k/images/*.jpg and "
    "root/flickr30k/results_20130124.token.",
)
torchvision(
    "sbu",
    "SBU",
    WHOLE,
    task="captioning",
    schema="captioning",
    image_size=(375, 500),
    channels=3,
    download=True,
    homepage="https://www.cs.rice.edu/~vo9/sbucaptions/",
    description="SBU captioned photos: 1 million Flickr images with one caption each (download fetches "
    "every image from Flickr).",
)

# ---------------------------------------------------------------- video
torchvision(
    "kinetics",
    "Kinetics",
    split_values("train", "val", "test"),
    requires=(("av", "av"),),
    task="video",
    defaults={"frames_per_clip": 16},
    num_classes=400,
    image_size=(256, 340),
    channels=3,
    download=True,
    license="CC BY 4.0 (annotations)",
    homepage="https://www.deepmind.com/open-source/kinetics",
    description="Human action clips (needs PyAV); num_classes= '400' (default), '600' or '700'. Samples "
    "are (video, audio, label).",
)
torchvision(
    "hmdb51",
    "HMDB51",
    {
        "train": {"root": "{root}/hmdb51/videos", "annotation_path": "{root}/hmdb51/splits", "train": True},
        "test": {"root": "{root}/hmdb51/videos", "annotation_path": "{root}/hmdb51/splits", "train": False},
    },
    requires=(("av", "av"),),
    task="video",
    defaults={"frames_per_clip": 16},
    num_classes=51,
    image_size=(240, 320),
    channels=3,
    license="CC BY 4.0",
    homepage="https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/",
    description="51 human actions (needs PyAV). Layout: root/hmdb51/videos/<class>/*.avi and the split "
    "files in root/hmdb51/splits; fold= 1 to 3.",
)
torchvision(
    "ucf101",
    "UCF101",
    {
        "train": {"root": "{root}/ucf101/videos", "annotation_path": "{root}/ucf101/splits", "train": True},
        "test": {"root": "{root}/ucf101/videos", "annotation_path": "{root}/ucf101/splits", "train": False},
    },
    requires=(("av", "av"),),
    task="video",
    defaults={"frames_per_clip": 16},
    num_classes=101,
    image_size=(240, 320),
    channels=3,
    homepage="https://www.crcv.ucf.edu/data/UCF101.php",
    description="101 human actions (needs PyAV). Layout: root/ucf101/videos/<class>/*.avi and the split "
    "files in root/ucf101/splits; fold= 1 to 3.",
)
torchvision(
    "moving_mnist",
    "MovingMNIST",
    {"all": {"split": None}, "train": {"split": "train"}, "test": {"split": "test"}},
    task="video",
    image_size=(64, 64),
    channels=1,
    download=True,
    homepage="https://www.cs.toronto.edu/~nitish/unsupervised_video/",
    description="10,000 sequences of 20 frames of two moving digits; train/test split the frames of each "
    "sequence at split_ratio.",
)

# ---------------------------------------------------------------- optical flow
_FLOW = {"task": "optical_flow", "channels": 3}
torchvision(
    "kitti_flow",
    "KittiFlow",
    split_values("train", "test"),
    image_size=(375, 1242),
    license="CC BY-NC-SA 3.0",
    homepage="https://www.cvlibs.net/datasets/kitti/eval_scene_flow.php?benchmark=flow",
    description="KITTI 2015 optical flow: samples are (image1, image2, flow, valid_flow_mask).",
    **_FLOW,
)
torchvision(
    "sintel",
    "Sintel",
    split_values("train", "test"),
    image_size=(436, 1024),
    homepage="http://sintel.is.tue.mpg.de/",
    description="MPI Sintel optical flow; pass_name= clean (default), final or both.",
    **_FLOW,
)
torchvision(
    "flying_chairs",
    "FlyingChairs",
    split_values("train", "val"),
    image_size=(384, 512),
    license="research only",
    homepage="https://lmb.informatik.uni-freiburg.de/resources/datasets/FlyingChairs.en.html",
    description="Synthetic chairs over backgrounds, 22,872 image pairs with flow.",
    **_FLOW,
)
torchvision(
    "flying_things3d",
    "FlyingThings3D",
    split_values("train", "test"),
    image_size=(540, 960),
    license="research only",
    homepage="https://lmb.informatik.uni-freiburg.de/resources/datasets/SceneFlowDatasets.en.html",
    description="Synthetic 3D objects in flight; pass_name= and camera= select the renders.",
    **_FLOW,
)
torchvision(
    "hd1k",
    "HD1K",
    split_values("train", "test"),
    image_size=(1080, 2560),
    homepage="http://hci-benchmark.iwr.uni-heidelberg.de/",
    description="HCI HD1K real-world optical flow benchmark.",
    **_FLOW,
)

# ---------------------------------------------------------------- stereo
_STEREO = {"task": "stereo", "channels": 3}
torchvision(
    "kitti2012_stereo",
    "Kitti2012Stereo",
    split_values("train", "test"),
    image_size=(375, 1242),
    license="CC BY-NC-SA 3.0",
    homepage="https://www.cvlibs.net/datasets/kitti/eval_stereo_flow.php?benchmark=stereo",
    description="KITTI 2012 stereo: samples are (left, right, disparity, valid_mask).",
    **_STEREO,
)
torchvision(
    "kitti2015_stereo",
    "Kitti2015Stereo",
    split_values("train", "test"),
    image_size=(375, 1242),
    license="CC BY-NC-SA 3.0",
    homepage="https://www.cvlibs.net/datasets/kitti/eval_scene_flow.php?benchmark=stereo",
    description="KITTI 2015 stereo: samples are (left, right, disparity, valid_mask).",
    **_STEREO,
)
torchvision(
    "carla_stereo",
    "CarlaStereo",
    WHOLE,
    image_size=(720, 1280),
    homepage="https://github.com/XuelianCheng/LidarStereoNet",
    description="Synthetic CARLA stereo pairs with disparity.",
    **_STEREO,
)
torchvision(
    "middlebury2014_stereo",
    "Middlebury2014Stereo",
    split_values("train", "test", "additional"),
    image_size=(1988, 2964),
    download=True,
    homepage="https://vision.middlebury.edu/stereo/data/scenes2014/",
    description="Middlebury 2014 high-resolution stereo scenes; calibration= perfect (default), imperfect or both.",
    **_STEREO,
)
torchvision(
    "crestereo",
    "CREStereo",
    WHOLE,
    image_size=(1080, 1920),
    homepage="https://github.com/megvii-research/CREStereo",
    description="Synthetic CREStereo training pairs with disparity.",
    **_STEREO,
)
torchvision(
    "falling_things_stereo",
    "FallingThingsStereo",
    WHOLE,
    image_size=(540, 960),
    homepage="https://research.nvidia.com/publication/2018-06_falling-things-synthetic-dataset-3d-object-detection-and-pose-estimation",
    description="NVIDIA Falling Things stereo; variant= single (default), mixed or both.",
    **_STEREO,
)
torchvision(
    "scene_flow_stereo",
    "SceneFlowStereo",
    WHOLE,
    image_size=(540, 960),
    license="research only",
    homepage="https://lmb.informatik.uni-freiburg.de/resources/datasets/SceneFlowDatasets.en.html",
    description="Scene Flow stereo; variant= FlyingThings3D (default), Driving or Monkaa.",
    **_STEREO,
)
torchvision(
    "sintel_stereo",
    "SintelStereo",
    WHOLE,
    image_size=(436, 1024),
    homepage="http://sintel.is.tue.mpg.de/stereo",
    description="MPI Sintel stereo; pass_name= final (default), clean or both.",
    **_STEREO,
)
torchvision(
    "instereo2k",
    "InStereo2k",
    split_values("train", "test"),
    image_size=(860, 1080),
    homepage="https://github.com/YuhuaXu/StereoDataset",
    description="InStereo2K indoor stereo pairs.",
    **_STEREO,
)
torchvision(
    "eth3d_stereo",
    "ETH3DStereo",
    split_values("train", "test"),
    image_size=(480, 750),
    license="CC BY-NC-SA 4.0",
    homepage="https://www.eth3d.net/datasets",
    description="ETH3D low-resolution two-view stereo.",
    **_STEREO,
)
