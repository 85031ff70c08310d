#!/usr/bin/python3
"""Reference TLP feature extraction in plain Python, written from
../shared/docs/tlp-spec.md §2-§3 in the shape of TLP's own loop
(scripts/tlp_make_dataset.py): one-hot of the kind, the arguments in
serialised order, strings mapped, pad to the maximum, crop.

Two departures, both where TLP would abort: a kind the dictionary lacks gives
11 zero slots (TLP: KeyError) and an unknown pragma/scope string gives 0
(TLP: KeyError / assert).  On data without those, this is TLP's loop.

Dev-only: used by tests/make_golden.py (golden fixtures) and bench/ (the
Python peer).  tlpx never runs it at build or test time."""
import json

STEPNAME_TO_IDX = {
    'llvm': {'CI': 1, 'RE': 2, 'AN': 3, 'RF': 4, 'CHW': 5, 'SP': 6, 'CR': 7, 'CA': 8, 'FU': 9, 'FSP': 10, 'PR': 11},
    'cuda': {'AN': 1, 'CHR': 2, 'CHW': 3, 'CI': 4, 'CA': 5, 'FFSP': 6, 'SP': 7, 'FU': 8, 'RE': 9, 'PR': 10, 'FSP': 11},
}
UNROLL_TO_IDX = {
    'llvm': {'auto_unroll_max_step$16': 1, 'auto_unroll_max_step$0': 2, 'auto_unroll_max_step$512': 3,
             'auto_unroll_max_step$64': 4},
    'cuda': {'auto_unroll_max_step$0': 1, 'auto_unroll_max_step$16': 2, 'auto_unroll_max_step$64': 3,
             'auto_unroll_max_step$1024': 4, 'auto_unroll_max_step$512': 5},
}
CHW_DICT = {'local': 1, 'shared': 2, 'global': 3}
SIZES = {'llvm': (25, 22), 'cuda': (40, 20)}


def platform_of(target):
    kind = target.split(' ')[0]
    return 'llvm' if kind in ('llvm', 'c') else 'cuda'


def one_hots(platform):
    out = {}
    for key, idx in STEPNAME_TO_IDX[platform].items():
        v = [0] * 11
        v[idx - 1] = 1
        out[key] = v
    return out


ONE_HOTS = {p: one_hots(p) for p in STEPNAME_TO_IDX}


def step_vectors(steps, platform):
    """TLP's per-record loop (tlp_make_dataset.py handle_file), returning the
    [crop_seq_len][crop_emb_size] list of lists of ints."""
    crop_seq_len, crop_emb_size = SIZES[platform]
    one_hot = ONE_HOTS[platform]
    unroll = UNROLL_TO_IDX[platform]
    step_vecs = []
    for st in steps:
        vec = []
        vec.extend(one_hot.get(st[0], [0] * 11))
        for i, it in enumerate(st):
            if i == 0:
                continue
            if isinstance(it, int):
                vec.append(it)
            elif isinstance(it, list):
                for ii in it:
                    assert isinstance(ii, int)
                    vec.append(ii)
            elif isinstance(it, str):
                if st[0] == 'PR' and 'auto_unroll_max_step' in it:
                    vec.append(unroll.get(it, 0))
                elif st[0] == 'CHW':
                    vec.append(CHW_DICT.get(it, 0))
                elif st[0] == 'CHR':
                    vec.append(1 if it == 'shared' else 0)
                else:
                    vec.append(0)
            else:
                assert False
        for i in range(len(vec), crop_emb_size, 1):
            vec.append(0)
        vec = vec[:crop_emb_size]
        step_vecs.append(vec)
    vec = [0] * crop_emb_size
    for i in range(len(step_vecs), crop_seq_len, 1):
        step_vecs.append(vec.copy())
    return step_vecs[:crop_seq_len]
