"""b2env MOCK CVMFS stand-in (not Belle II software): the module registry.

Each module declares its parameters with a type and a default; names and types are checked the
way basf2 checks them. Modules do no physics.
"""

from ._log import B2ERROR, LogLevel

INT, FLOAT, STR, BOOL = "int", "float", "str", "bool"
LIST_INT, LIST_FLOAT, LIST_STR = "list(int)", "list(float)", "list(str)"
DICT = "dict"

REGISTRY = {
    "EventInfoSetter": {
        "expList": (LIST_INT, [0]), "runList": (LIST_INT, [0]), "evtNumList": (LIST_INT, [1]),
        "skipNEvents": (INT, 0), "skipToEvent": (LIST_INT, []), "production": (INT, 0),
    },
    "EventInfoPrinter": {"printTime": (BOOL, False)},
    "Progress": {"maxN": (INT, 3), "maxOrder": (INT, 4)},
    "RootInput": {
        "inputFileName": (STR, ""), "inputFileNames": (LIST_STR, []), "skipNEvents": (INT, 0),
        "entrySequences": (LIST_STR, []), "branchNames": (LIST_STR, []),
        "branchNamesPersistent": (LIST_STR, []), "excludeBranchNames": (LIST_STR, []),
        "parentLevel": (INT, 0), "collectStatistics": (BOOL, False),
        "skipToEvent": (LIST_INT, []), "isSecondaryInput": (BOOL, False),
    },
    "RootOutput": {
        "outputFileName": (STR, "RootOutput.root"), "ignoreCommandLineOverride": (BOOL, False),
        "branchNames": (LIST_STR, []), "branchNamesPersistent": (LIST_STR, []),
        "additionalBranchNames": (LIST_STR, []), "excludeBranchNames": (LIST_STR, []),
        "compressionLevel": (INT, 1), "compressionAlgorithm": (INT, 0), "splitLevel": (INT, 99),
        "updateFileCatalog": (BOOL, True), "additionalDataDescription": (DICT, {}),
        "buildIndex": (BOOL, True), "keepParents": (BOOL, False), "autoFlushSize": (INT, -10000000),
        "autoSaveSize": (INT, 100000000), "basketSize": (INT, 16384),
    },
    "ParticleLoader": {
        "decayStrings": (LIST_STR, []), "writeOut": (BOOL, False), "addDaughters": (BOOL, False),
        "skipNonPrimaryDaughters": (BOOL, False), "useMCParticles": (BOOL, False),
        "useROEs": (BOOL, False), "roeMaskName": (STR, ""), "sourceParticleListName": (STR, ""),
        "useMissing": (BOOL, False), "skipInitial": (BOOL, True),
    },
    "ParticleSelector": {"decayString": (STR, ""), "cut": (STR, "")},
    "ParticleListManipulator": {
        "outputListName": (STR, ""), "inputListNames": (LIST_STR, []), "cut": (STR, ""),
        "variable": (STR, ""), "preferLowest": (BOOL, True), "writeOut": (BOOL, False),
        "isSelfConjugatedParticle": (BOOL, False),
    },
    "ParticleCombiner": {
        "decayString": (STR, ""), "cut": (STR, ""), "decayMode": (INT, 0),
        "writeOut": (BOOL, False),
        "recoilParticleType": (INT, 0), "chargeConjugation": (BOOL, True),
        "allowChargeViolation": (BOOL, False), "maximumNumberOfCandidates": (INT, -1),
        "ignoreIfTooManyCandidates": (BOOL, True),
    },
    "ParticleVertexFitter": {
        "listName": (STR, ""), "confidenceLevel": (FLOAT, 0.001), "vertexFitter": (STR, "KFit"),
        "fitType": (STR, "vertex"), "withConstraint": (STR, ""), "decayString": (STR, ""),
    },
    "MCMatcherParticles": {"listName": (STR, ""), "looseMCMatching": (BOOL, False)},
    "VariablesToNtuple": {
        "particleList": (STR, ""), "variables": (LIST_STR, []), "fileName": (STR, "ntuple.root"),
        "treeName": (STR, "ntuple"), "basketSize": (INT, 1600), "useFloat": (BOOL, False),
        "fileNameSuffix": (STR, ""), "storeEventType": (BOOL, True),
        "signalSideParticleList": (STR, ""), "sampling": (DICT, {}),
    },
    "VariablesToEventBasedTree": {
        "particleList": (STR, ""), "variables": (LIST_STR, []), "fileName": (STR, "ntuple.root"),
        "treeName": (STR, "tree"), "event_variables": (LIST_STR, []), "maxCandidates": (INT, 100),
    },
}

#: Modules that put EventMetaData into the data store (one must come first in the path).
EVENT_SOURCES = ("EventInfoSetter", "RootInput")


class ModuleNotCreatedError(RuntimeError):
    """No module of that name is registered."""


class ModuleParamError(RuntimeError):
    """A parameter that the module does not have."""


class ModuleParameterTypeError(TypeError):
    """A parameter value of the wrong type."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scalar(kind, value):
    if kind == INT:
        return _is_int(value)
    if kind == FLOAT:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    return True


def converted(module, name, kind, value):
    """The value as stored, or ModuleParameterTypeError (scalars are accepted for lists)."""
    if kind.startswith("list("):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        inner = kind[5:-1]
        if all(_check_scalar(inner, item) for item in items):
            return [float(i) if inner == FLOAT else i for i in items]
    elif kind == DICT:
        if isinstance(value, dict):
            return dict(value)
    elif _check_scalar(kind, value):
        return float(value) if kind == FLOAT else value
    raise ModuleParameterTypeError(
        f"Could not set module parameter '{name}' of module '{module}': the given value "
        f"{value!r} of type {type(value).__name__} does not have the parameter's type {kind}."
    )


class Module:
    """A configured module in a path."""

    def __init__(self, type_name):
        if type_name not in REGISTRY:
            B2ERROR(f"Could not create module: {type_name} (no module of that name is known)")
            raise ModuleNotCreatedError(f"Could not create module: {type_name}")
        self._type = type_name
        self._name = type_name
        self._params = {k: (list(d) if isinstance(d, list) else d)
                        for k, (_, d) in REGISTRY[type_name].items()}
        self._set = set()
        self.log_level = None

    def type(self):
        return self._type

    def name(self):
        return self._name

    def set_name(self, name):
        self._name = name

    def set_log_level(self, level):
        self.log_level = LogLevel(level)

    def param(self, key, value=None):
        """``param(name, value)`` or ``param({name: value, ...})``."""
        items = key.items() if isinstance(key, dict) else [(key, value)]
        for name, val in items:
            spec = REGISTRY[self._type].get(name)
            if spec is None:
                raise ModuleParamError(
                    f"Could not find the parameter with the name '{name}'! The value of the "
                    "parameter could NOT be set."
                )
            self._params[name] = converted(self._type, name, spec[0], val)
            self._set.add(name)

    def get(self, name):
        return self._params[name]

    def is_set(self, name):
        return name in self._set

    def available_params(self):
        return [(name, kind, self._params[name]) for name, (kind, _)
                in REGISTRY[self._type].items()]

    def __repr__(self):
        return f"<Module {self._name}>"


def register_module(name, **params):
    if isinstance(name, Module):
        module = name
    else:
        module = Module(name)
    if params:
        module.param(params)
    return module
