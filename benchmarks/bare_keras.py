"""The floor for a long keras run: import TensorFlow, build the layer, call it once inside
tf.function, convert to numpy. Nothing else. Usage: python bare_keras.py T D M"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import numpy as np
import tensorflow as tf

T, D, M = (int(arg) for arg in sys.argv[1:4])
layer = keras.layers.LSTM(M, return_sequences=True, return_state=True)
x = np.random.default_rng(0).standard_normal((1, T, D), dtype=np.float32)
o, h, c = tf.function(lambda inputs: layer(inputs))(tf.constant(x))
o, h, c = o.numpy(), h.numpy(), c.numpy()
