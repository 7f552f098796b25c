#!/usr/bin/env python3
"""Writes the benchmark folder: 10,000 files in 200 directories (about 60 MB of text that
compresses like source code) plus an ignored node_modules/ of 20,000 small files."""
import os
import random
import sys

root = sys.argv[1]
rng = random.Random(42)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 10))) for _ in range(5000)]
for d in range(200):
    dir_path = os.path.join(root, 'src', f'module{d:03d}')
    os.makedirs(dir_path, exist_ok=True)
    for f in range(50):
        lines = []
        size = 0
        target = rng.randint(2000, 10000)
        while size < target:
            line = 'const ' + ' '.join(rng.choice(words) for _ in range(8)) + ';\n'
            lines.append(line)
            size += len(line)
        with open(os.path.join(dir_path, f'file{f:02d}.js'), 'w') as out:
            out.write(''.join(lines))
for d in range(1000):
    dir_path = os.path.join(root, 'node_modules', f'pkg{d:04d}')
    os.makedirs(dir_path, exist_ok=True)
    for f in range(20):
        with open(os.path.join(dir_path, f'f{f}.js'), 'w') as out:
            out.write(f'module.exports = {d * 20 + f};\n')
with open(os.path.join(root, '.gitignore'), 'w') as out:
    out.write('node_modules/\n')
