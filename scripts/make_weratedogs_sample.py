"""Build a posts sample in the X API v2 shape from the WeRateDogs data, with images served locally.

Real, when the WeRateDogs files are at `--data` (../shared/data/weratedogs-likes by default): tweet
ids (as strings), like/retweet/reply counts and dates (tweet_public_metrics.json), the tweet text
(twitter-archive-enhanced.csv) and the image file names (image-predictions.tsv). Without them (or
with `--synthetic`), the posts are synthetic: 18-digit ids, heavy-tailed like counts drawn around
the WeRateDogs median (about 3,000), dates in 2015-2017 and template texts. Nothing of the real data
ships with the repository: the tweets are their author's copyright.
Synthetic either way: the images. The pbs.twimg.com originals cannot be downloaded here, so every
image URL points at `--base-url` (a local image server) under its file name, and a deterministic
picture is written for it under OUT/images/. A few images are made faulty on purpose, listed in
OUT/faults.json: missing (404), tiny, extreme aspect ratio, truncated JPEG, and PNGs carrying
Stable Diffusion web UI `parameters`.

    python scripts/make_weratedogs_sample.py --out out/weratedogs-sample --posts 300
    python -m curation.testing.image_server --root out/weratedogs-sample/images --port 8765 &
    curate posts clean out/weratedogs-sample/posts.jsonl --out out/weratedogs-clean --no-models \
        --allow-private-hosts 127.0.0.1/32   # the images are local; untrusted URLs may not reach loopback
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from PIL.PngImagePlugin import PngInfo

from curation.testing.image_server import synthetic_image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA", REPO.parent / "shared" / "data"))
FAULTS = {"missing": 0.02, "tiny": 0.01, "banner": 0.01, "truncated": 0.01, "sd_parameters": 0.01}
WERATEDOGS_USER = {"id": "4196983835", "username": "dog_rates"}
SYNTHETIC_USER = {"id": "1000000000", "username": "synthetic_posts"}
NAMES = ("Bella", "Cooper", "Daisy", "Milo", "Luna", "Tucker", "Rosie", "Winston", "Maple", "Otis")
TRAITS = ("ready for the weekend", "proud owner of a very large stick", "here to have a word",
          "a master of the sit", "painting in oils now", "a firm believer in you")
SD_PARAMETERS = (
    "a corgi in a spacesuit\nNegative prompt: blurry\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 42"
)


def load_tweets(data: Path) -> pl.DataFrame:
    """Tweets that have an image, with their real metrics and text; ids stay strings."""
    metrics = pl.DataFrame(json.loads((data / "tweet_public_metrics.json").read_text()))
    metrics = metrics.with_columns(pl.col("tweet_id").cast(pl.Utf8))
    images = pl.read_csv(data / "image-predictions.tsv", separator="\t", infer_schema=False)
    archive = pl.read_csv(data / "twitter-archive-enhanced.csv", infer_schema=False).select(
        "tweet_id", "text"
    )
    return (
        metrics.join(images.select("tweet_id", "jpg_url"), on="tweet_id")
        .join(archive, on="tweet_id", how="left")
        .sort("tweet_id")
    )


def synthetic_tweets(count: int, seed: int) -> pl.DataFrame:
    """`count` made-up tweets in the shape of `load_tweets`: likes log-normal around 3,000 (a few
    zeros, like retweets), ids as 18-digit strings, dates in 2015-2017."""
    rng = random.Random(seed)
    start = datetime(2015, 11, 15, tzinfo=UTC)
    rows = []
    for index in range(count):
        likes = 0 if rng.random() < 0.05 else round(math.exp(rng.gauss(math.log(3_000), 1.1)))
        tweet_id = str(660_000_000_000_000_000 + index * 97_000_000_000_000 + rng.randrange(10**12))
        rows.append({
            "tweet_id": tweet_id,
            "like_count": likes,
            "retweet_count": round(likes * rng.uniform(0.15, 0.4)),
            "reply_count": round(likes * rng.uniform(0.005, 0.03)),
            "quote_count": round(likes * rng.uniform(0.0, 0.01)),
            "created_at": (start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))).isoformat(),
            "text": f"This is {rng.choice(NAMES)}, {rng.choice(TRAITS)}. {rng.randint(10, 14)}/10",
            "jpg_url": f"https://pbs.twimg.example/media/synthetic_{tweet_id}.jpg",
        })
    return pl.DataFrame(rows)


def api_page(tweets: list[dict], base_url: str, user: dict[str, str]) -> dict:
    data, media = [], []
    for tweet in tweets:
        key = f"3_{tweet['tweet_id']}"
        data.append(
            {
                "id": tweet["tweet_id"],
                "text": tweet["text"] or "",
                "author_id": user["id"],
                "created_at": tweet["created_at"],
                "attachments": {"media_keys": [key]},
                "public_metrics": {
                    name: tweet[name]
                    for name in ("like_count", "retweet_count", "reply_count", "quote_count")
                },
            }
        )
        media.append({"media_key": key, "type": "photo", "url": f"{base_url}/media/{tweet['file']}"})
    return {
        "data": data,
        "includes": {"media": media, "users": [user]},
    }


def assign_faults(count: int, rng: random.Random) -> dict[int, str]:
    order = list(range(count))
    rng.shuffle(order)
    faults, start = {}, 0
    for fault, share in FAULTS.items():
        take = max(1, round(share * count))
        faults |= dict.fromkeys(order[start : start + take], fault)
        start += take
    return faults


def write_image(folder: Path, name: str, seed: int, fault: str | None, rng: random.Random) -> str:
    """Write the synthetic image for `name` (or leave it out); returns the file name served."""
    width, height = rng.randrange(320, 900), rng.randrange(240, 900)
    if fault == "missing":
        return name
    if fault == "sd_parameters":
        info = PngInfo()
        info.add_text("parameters", SD_PARAMETERS)
        name = Path(name).with_suffix(".png").name
        (folder / name).write_bytes(synthetic_image(width, height, seed, "PNG", pnginfo=info))
        return name
    if fault == "tiny":
        width, height = 40, 30
    elif fault == "banner":
        width, height = 1500, 150
    body = synthetic_image(width, height, seed, "JPEG", quality=85)
    (folder / name).write_bytes(body[: len(body) // 2] if fault == "truncated" else body)
    return name


def make_sample(
    data: Path | None,
    out: Path,
    posts: int,
    seed: int,
    base_url: str,
    page_size: int = 100,
    faults: bool = True,
) -> dict:
    """Write OUT/posts.jsonl, OUT/images/media/* and OUT/faults.json; `data=None`: synthetic posts."""
    table = load_tweets(data) if data is not None else synthetic_tweets(posts, seed)
    user = WERATEDOGS_USER if data is not None else SYNTHETIC_USER
    tweets = table.sample(n=min(posts, table.height), seed=seed, shuffle=True).to_dicts()
    rng = random.Random(seed)
    chosen = assign_faults(len(tweets), rng) if faults else {}
    folder = out / "images" / "media"
    folder.mkdir(parents=True, exist_ok=True)
    for index, tweet in enumerate(tweets):
        tweet["file"] = write_image(
            folder, Path(tweet["jpg_url"]).name, int(tweet["tweet_id"]) % 2**31, chosen.get(index), rng
        )
    with open(out / "posts.jsonl", "w") as handle:
        for start in range(0, len(tweets), page_size):
            page = api_page(tweets[start : start + page_size], base_url.rstrip("/"), user)
            handle.write(json.dumps(page) + "\n")
    listed = {tweets[i]["tweet_id"]: fault for i, fault in sorted(chosen.items())}
    (out / "faults.json").write_text(json.dumps(listed, indent=2) + "\n")
    return {
        "posts": len(tweets),
        "faults": listed,
        "posts_file": str(out / "posts.jsonl"),
        "source": "WeRateDogs" if data is not None else "synthetic",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "weratedogs-likes")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "weratedogs-sample")
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    parser.add_argument("--no-faults", action="store_true", help="make every image valid")
    parser.add_argument("--synthetic", action="store_true", help="synthetic posts even if --data exists")
    args = parser.parse_args()
    data = None if args.synthetic or not args.data.is_dir() else args.data
    if data is None and not args.synthetic:
        print(f"no WeRateDogs data at {args.data}: making synthetic posts")
    summary = make_sample(data, args.out, args.posts, args.seed, args.base_url, faults=not args.no_faults)
    print(
        f"{summary['posts']} {summary['source']} posts -> {summary['posts_file']}; "
        f"{len(summary['faults'])} faulty images (see faults.json); images under {args.out / 'images'}"
    )


if __name__ == "__main__":
    main()
