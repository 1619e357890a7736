"""Writes the small HDF5 inputs of tests/test_seqdata.c (run with Debian's /usr/bin/python3,
which has h5py; the outputs are committed, so the tests need no Python).

channels_last.h5  X_train (3, 6, 4) float64 in (N, L, 4) layout, an N as 0.25 in each
                  channel and one column of padding zeros; Y_train (3,) uint8 (1-D labels).
                  X_valid (2, 4, 6) float32 in Koo's layout with Y_valid (2, 2) int16, to
                  check that splits of different tasks are refused.
not_onehot.h5     X_train (2, 4, 5) with one column (0.5, 0.5, 0, 0): record 2, position 4.
"""
import h5py
import numpy as np

def onehot(s, n=0.25):
    x = np.zeros((4, len(s)), np.float32)
    for i, c in enumerate(s):
        if c == 'N':
            x[:, i] = n
        elif c != '0':  # '0': a padding column, all zeros
            x['ACGT'.index(c), i] = 1
    return x

with h5py.File('channels_last.h5', 'w') as f:
    x = np.stack([onehot(s) for s in ['ACGTNA', 'GGCC0T', 'TTTTTT']])  # (3, 4, 6)
    f['X_train'] = x.transpose(0, 2, 1).astype(np.float64)             # (3, 6, 4)
    f['Y_train'] = np.array([1, 0, 1], np.uint8)
    f['X_valid'] = np.stack([onehot(s) for s in ['ACGTAC', 'CCCCCC']])
    f['Y_valid'] = np.array([[1, 0], [0, 1]], np.int16)

with h5py.File('not_onehot.h5', 'w') as f:
    x = np.stack([onehot('ACGTA'), onehot('ACGTA')])
    x[1, :, 3] = [0.5, 0.5, 0, 0]
    f['X_train'] = x
    f['Y_train'] = np.array([[1], [0]], np.int8)
