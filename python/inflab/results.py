"""Results of inflab's calls: a dict of numpy arrays and numbers, read as r["key"] or r.key,
with to_pandas() for the per-row columns (pandas is imported only then)."""


class Result:
    """What a call returned: r["key"] or r.key (not a dict subclass, so r.values is the key
    "values"). `columns` are the keys of equal-length per-row arrays (to_pandas)."""

    def __init__(self, kind, values, columns=()):
        self._d = dict(values)
        self.kind = kind
        self.columns = tuple(columns)

    def __getitem__(self, key):
        return self._d[key]

    def __contains__(self, key):
        return key in self._d

    def __iter__(self):
        return iter(self._d)

    def keys(self):
        return self._d.keys()

    def items(self):
        return self._d.items()

    def to_dict(self):
        return dict(self._d)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._d[key]
        except KeyError:
            raise AttributeError(f"{self.kind} result has no {key!r} (it has {', '.join(self._d)})") from None

    def __dir__(self):
        return list(self._d) + ["kind", "columns", "to_pandas", "to_dict", "keys", "items"]

    def to_pandas(self):
        """The per-row columns as a pandas.DataFrame (python3-pandas)."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError("to_pandas needs pandas (Debian: python3-pandas)") from e
        if self.kind == "influence":  # [m, n] → one row per (test row, training row)
            import numpy as np
            v = self["values"]
            m, n = v.shape
            return pandas.DataFrame({"test_row": np.repeat(self["test_rows"], n), "train_row": np.tile(np.arange(n), m),
                                     "value": v.reshape(-1)})
        if self.kind == "benchmark":
            def row(r):
                d = {"estimator": r["estimator"], "loo_pearson": r["loo"]["pearson"], "loo_spearman": r["loo"]["spearman"],
                     "lds": r["lds"]["spearman"], "auc": r["auc"], "seconds": r["seconds"], "note": r["note"]}
                if "reference_loo" in r:  # truth="both": the same scores against the CG reference
                    d.update({"reference_loo_pearson": r["reference_loo"]["pearson"], "reference_loo_spearman": r["reference_loo"]["spearman"],
                              "reference_lds": r["reference_lds"]["spearman"]})
                return d
            return pandas.DataFrame([row(r) for r in self["rows"]])
        if self.kind == "check":
            return pandas.DataFrame(self["checks"])
        return pandas.DataFrame({k: list(self[k]) for k in self.columns})

    def __repr__(self):
        parts = []
        for k, v in self._d.items():
            shape = getattr(v, "shape", None)
            if shape is not None:
                parts.append(f"{k}=array{list(shape)}")
            elif isinstance(v, (list, tuple)) and len(v) > 4:
                parts.append(f"{k}=[{len(v)} items]")
            else:
                parts.append(f"{k}={v!r}")
        return f"<inflab {self.kind}: " + ", ".join(parts) + ">"
