"""Write the small data files nnspec ships (run from anywhere: `python specs/data/make_data.py`).

Deterministic: the same bytes on every run (fixed seeds, fixed number formatting, fixed zip
timestamps), so re-running it never changes the tree.

- plants.csv  300 rows. Numeric: height_cm, leaf_width_mm, leaf_count (integer),
              rainfall_mm (heavy right tail, for `log`); text: soil (clay | loam | sand, one-hot);
              target: species (fern | moss | palm), the last column.
- shops.csv   400 rows. Numeric: footfall (visitors that day), promo (0 / 1); text: city (5
              values), shop (24 values, each in one city; for `embed`); target: sales
              (regression), a city effect + a shop effect + footfall and promo terms + noise.
- houses.csv  300 rows, two targets (`target "price", "rooms"`). Numeric: area (m2), age
              (years), distance (km); text: district (3 values); targets: rooms (integers 1 to
              5, a class) and price (regression), both driven by the area.
- blobs.npz   X (240, 5) float64, y (240,) int64 in {0, 1, 2}, feature_names (5,) unicode.
- sparse.svm  200 examples, 40 features, about 10% non-zero, labels -1 / +1 (libsvm format,
              1-based feature indices).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

HERE = Path(__file__).resolve().parent
SPECIES = np.array(["fern", "moss", "palm"])
SOILS = np.array(["clay", "loam", "sand"])
DISTRICTS = np.array(["east", "north", "south"])


def plants_csv() -> str:
    """A classification table with one categorical column and a named text target."""
    rng = np.random.default_rng(0)
    n = 300
    species = rng.integers(0, 3, n)
    soil = np.where(rng.random(n) < 0.6, species, rng.integers(0, 3, n))   # soil hints species
    height = rng.normal([20.0, 4.0, 150.0], [6.0, 1.5, 40.0])[species].clip(0.5)
    leaf_width = rng.normal([12.0, 2.0, 60.0], [3.0, 0.6, 15.0])[species].clip(0.2)
    leaf_count = rng.poisson([30, 200, 12])[species]
    rainfall = rng.lognormal(mean=np.log(600.0), sigma=0.9, size=n)
    lines = ["height_cm,leaf_width_mm,leaf_count,rainfall_mm,soil,species"]
    for i in range(n):
        lines.append(f"{height[i]:.2f},{leaf_width[i]:.2f},{leaf_count[i]},{rainfall[i]:.1f},"
                     f"{SOILS[soil[i]]},{SPECIES[species[i]]}")
    return "\n".join(lines) + "\n"


CITIES = np.array(["Lille", "Lyon", "Nantes", "Nice", "Paris"])


def shops_csv() -> str:
    """A regression table whose target depends on two text columns (city, shop), for `embed`."""
    rng = np.random.default_rng(3)
    n, n_shops = 400, 24
    shop_city = rng.integers(0, len(CITIES), n_shops)
    city_effect = rng.normal(0.0, 30.0, len(CITIES))
    shop_effect = rng.normal(0.0, 20.0, n_shops)
    shop = rng.integers(0, n_shops, n)
    footfall = rng.poisson(300, n)
    promo = (rng.random(n) < 0.3).astype(int)
    sales = (200.0 + city_effect[shop_city[shop]] + shop_effect[shop] + 0.4 * (footfall - 300)
             + 25.0 * promo + rng.normal(0.0, 5.0, n))
    lines = ["footfall,promo,city,shop,sales"]
    for i in range(n):
        lines.append(f"{footfall[i]},{promo[i]},{CITIES[shop_city[shop[i]]]},"
                     f"shop{shop[i] + 1:02d},{sales[i]:.2f}")
    return "\n".join(lines) + "\n"


def houses_csv() -> str:
    """Two targets for one network: a price (regression) and a room count (a class, 1 to 5),
    both driven by the same area, with age, distance and a district effect on the price."""
    rng = np.random.default_rng(4)
    n = 300
    area = rng.uniform(40.0, 200.0, n)
    age = rng.uniform(0.0, 60.0, n)
    distance = rng.uniform(0.5, 20.0, n)
    district = rng.integers(0, 3, n)
    rooms = np.clip(np.round(area / 40.0 + rng.normal(0.0, 0.3, n)), 1, 5).astype(int)
    price = (2.0 * area - 0.8 * age - 3.0 * distance + np.array([30.0, 0.0, 15.0])[district]
             + rng.normal(0.0, 8.0, n))
    lines = ["area,age,distance,district,rooms,price"]
    for i in range(n):
        lines.append(f"{area[i]:.1f},{age[i]:.1f},{distance[i]:.2f},{DISTRICTS[district[i]]},"
                     f"{rooms[i]},{price[i]:.1f}")
    return "\n".join(lines) + "\n"


def blobs_arrays() -> dict[str, np.ndarray]:
    """Three Gaussian clusters in 5 dimensions."""
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3, dtype=np.int64), 80)
    centers = rng.normal(0.0, 3.0, size=(3, 5))
    X = np.round(centers[y] + rng.normal(size=(240, 5)), 4)
    names = np.array([f"f{j}" for j in range(5)])
    return {"X": X, "y": y, "feature_names": names}


def sparse_svm() -> bytes:
    """A sparse binary problem: the label is the sign of a sparse linear score."""
    rng = np.random.default_rng(2)
    X = sp.random(200, 40, density=0.1, format="csr", random_state=rng, dtype=np.float64)
    X.data = np.round(X.data * 40.0) / 4.0 + 0.25     # quarters: exact in binary, short in text
    w = rng.normal(size=40)
    score = X @ w
    y = np.where(score > np.median(score), 1.0, -1.0)
    buf = io.BytesIO()
    dump_svmlight_file(X, y, buf, zero_based=False)
    return buf.getvalue()


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez, with a fixed timestamp on every member so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)


def write_all(out_dir: Path = HERE) -> list[Path]:
    """Write every shipped file into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, npz, svm = out_dir / "plants.csv", out_dir / "blobs.npz", out_dir / "sparse.svm"
    csv.write_text(plants_csv(), encoding="utf-8", newline="\n")
    shops = out_dir / "shops.csv"
    shops.write_text(shops_csv(), encoding="utf-8", newline="\n")
    houses = out_dir / "houses.csv"
    houses.write_text(houses_csv(), encoding="utf-8", newline="\n")
    save_npz(npz, blobs_arrays())
    svm.write_bytes(sparse_svm())
    return [csv, shops, houses, npz, svm]


if __name__ == "__main__":
    for written in write_all():
        print(written)
