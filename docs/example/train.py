"""Train docs/example/sentiment.keras, the small model the README points rnnstate at.

A toy sentiment task: reviews are sequences of word ids, padded with 0 at the end; word 1 is
"good", word 2 "bad", words 3-9 are neutral. A review is positive when it says "good" more
often than "bad". The model: Embedding(mask_zero=True) -> LSTM(8) -> Dense(1, sigmoid).
Training is deterministic (fixed seeds, deterministic ops), so running this script again
writes the same model. Also writes reviews.npy: four padded reviews to inspect it on, and
vocab.txt: the word of each id, one a line (rnnstate model ... --vocab docs/example/vocab.txt).

    python docs/example/train.py
"""

import os
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import tensorflow as tf

HERE = Path(__file__).parent
VOCABULARY, LENGTH = 10, 12
# The words the ids stand for (vocab.txt, for rnnstate's --vocab): 0 pads, 1 and 2 decide.
WORDS = ["<pad>", "good", "bad", "the", "movie", "was", "plot", "actors", "scenes", "ending"]


def reviews(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` padded reviews (count, LENGTH) of word ids and their labels (count,)."""
    tokens = np.zeros((count, LENGTH), dtype=np.int32)
    for row, length in enumerate(rng.integers(3, LENGTH + 1, size=count)):
        tokens[row, :length] = rng.integers(1, VOCABULARY, size=length)
    labels = (tokens == 1).sum(axis=1) > (tokens == 2).sum(axis=1)
    return tokens, labels.astype(np.float32)


def main() -> None:
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    tokens, labels = reviews(np.random.default_rng(0), 2000)
    model = keras.Sequential(
        [
            keras.Input((LENGTH,), dtype="int32", name="words"),
            keras.layers.Embedding(VOCABULARY, 4, mask_zero=True, name="embedding"),
            keras.layers.LSTM(8, name="lstm"),
            keras.layers.Dense(1, activation="sigmoid", name="positive"),
        ],
        name="sentiment",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    model.fit(tokens, labels, epochs=15, batch_size=64, shuffle=False, verbose=0)
    _, accuracy = model.evaluate(*reviews(np.random.default_rng(1), 500), verbose=0)
    print(f"held-out accuracy: {accuracy:.3f}")
    trained = keras.Sequential.from_config(model.get_config())  # without the optimizer's state
    trained.set_weights(model.get_weights())
    trained.save(HERE / "sentiment.keras")
    shown = np.array(
        [
            [1, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # good . good
            [2, 7, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0],  # bad . . bad
            [1, 4, 2, 6, 2, 8, 0, 0, 0, 0, 0, 0],  # good . bad . bad .
            [3, 1, 9, 1, 1, 2, 5, 6, 2, 3, 1, 4],  # no padding: good x4, bad x2
        ],
        dtype=np.int32,
    )
    np.save(HERE / "reviews.npy", shown)
    (HERE / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    print(model.predict(shown, verbose=0).ravel())


if __name__ == "__main__":
    main()
