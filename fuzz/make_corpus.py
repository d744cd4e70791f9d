"""Writes a small seed corpus of valid inputs for each fuzz target into the given dir."""
import os, struct, sys

out = sys.argv[1]
for t in ("idx", "csv", "cifar"):
    os.makedirs(os.path.join(out, t), exist_ok=True)

def w(t, name, data):
    with open(os.path.join(out, t, name), "wb") as f:
        f.write(data)

w("idx", "u8_3d", bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 3, 3) + bytes(range(18)))
w("idx", "u8_1d", bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes([1, 2, 3, 9]))
w("idx", "f64_2d", bytes([0, 0, 0x0E, 2]) + struct.pack(">II", 1, 2) + struct.pack(">dd", 1.5, -2))
w("idx", "i16", bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2) + struct.pack(">hh", -3, 300))
w("csv", "header_names", b"a,b,label\n1,2,a\n3.5,-4e2,b\n5,6,c\n")
w("csv", "ints", b"0,1.5,2\n1,2.5,0\n")
w("csv", "crlf", b"x,y\r\n1,0\r\n2,1\r\n")
rec = bytes([3]) + bytes(i % 256 for i in range(3072))
w("cifar", "two_records", rec + bytes([9]) + rec[1:])
