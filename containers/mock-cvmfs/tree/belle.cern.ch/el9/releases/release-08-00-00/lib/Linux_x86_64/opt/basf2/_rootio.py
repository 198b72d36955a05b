"""b2env MOCK CVMFS stand-in (not Belle II software): ROOT files through uproot.

RootOutput-style files hold a TTree ``tree`` (one entry per event, flat branches derived from
EventMetaData) and a TTree ``persistent`` (one entry, flat branches derived from FileMetaData);
the steering file text and the data description are TObjStrings next to them. Real files hold
streamed C++ objects instead; the tree names and the EventMetaData / FileMetaData prefixes match.
"""

import json

EVENT_BRANCHES = {
    "EventMetaData.m_experiment": "int32", "EventMetaData.m_run": "int32",
    "EventMetaData.m_event": "uint32", "EventMetaData.m_production": "int32",
}
FILE_BRANCHES = {
    "FileMetaData.m_nEvents": "uint32", "FileMetaData.m_experimentLow": "int32",
    "FileMetaData.m_runLow": "int32", "FileMetaData.m_eventLow": "uint32",
    "FileMetaData.m_experimentHigh": "int32", "FileMetaData.m_runHigh": "int32",
    "FileMetaData.m_eventHigh": "uint32", "FileMetaData.m_randomSeed": "int64",
    "FileMetaData.m_mcEvents": "uint32", "FileMetaData.m_isMC": "bool",
}


def read_events(path):
    """The (experiment, run, event, production) tuples of a RootOutput-style file."""
    import uproot

    with uproot.open(path) as root_file:
        if "tree" not in root_file:
            raise ValueError(f"{path} has no TTree 'tree'")
        tree = root_file["tree"]
        names = list(EVENT_BRANCHES)
        if not all(name in tree for name in names):
            n = tree.num_entries
            return [(0, 0, i + 1, 0) for i in range(n)]
        arrays = tree.arrays(names, library="np")
    columns = [arrays[name].tolist() for name in names]
    return list(zip(*columns))


def _np():
    import numpy

    return numpy


def write_mdst_like(path, events, *, steering="", release="", seed=0, description=None):
    """Write trees ``tree`` and ``persistent`` for ``events`` (tuples exp, run, evt, prod)."""
    import uproot

    np = _np()
    columns = list(zip(*events)) if events else [[], [], [], []]
    with uproot.recreate(path) as root_file:
        tree = root_file.mktree("tree", EVENT_BRANCHES, title="Event data (b2env mock)")
        tree.extend({name: np.asarray(col, dtype=EVENT_BRANCHES[name])
                     for name, col in zip(EVENT_BRANCHES, columns)})
        low = min(events) if events else (0, 0, 0, 0)
        high = max(events) if events else (0, 0, 0, 0)
        values = [len(events), low[0], low[1], low[2], high[0], high[1], high[2], seed,
                  len(events), True]
        persistent = root_file.mktree("persistent", FILE_BRANCHES,
                                      title="File data (b2env mock)")
        persistent.extend({name: np.asarray([value], dtype=FILE_BRANCHES[name])
                           for name, value in zip(FILE_BRANCHES, values)})
        meta = {"release": release, "dataLevel": "mdst", "mock": True, **(description or {})}
        root_file["FileMetaData_dataDescription"] = json.dumps(meta, sort_keys=True)
        root_file["FileMetaData_steering"] = steering or "(none)"


def write_ntuples(path, trees):
    """Write flat trees: ``trees`` maps tree name -> {branch name: list of values}."""
    import uproot

    np = _np()
    with uproot.recreate(path) as root_file:
        for name, columns in trees.items():
            types = {branch: _branch_type(branch) for branch in columns}
            tree = root_file.mktree(name, types)
            tree.extend({branch: np.asarray(values, dtype=types[branch])
                         for branch, values in columns.items()})


def _branch_type(branch):
    if branch in ("__experiment__", "__run__", "__production__", "__candidate__",
                  "__ncandidates__"):
        return "int32"
    if branch == "__event__":
        return "uint32"
    return "float64"


def tree_entries(path):
    """{tree name: entries} for the TTrees in a file (for --job-information)."""
    import uproot

    with uproot.open(path) as root_file:
        return {key.split(";")[0]: root_file[key].num_entries
                for key, cls in root_file.classnames().items() if cls == "TTree"}
