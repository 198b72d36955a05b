"""b2env MOCK CVMFS stand-in (not Belle II software): paths, the event loop and statistics.

No physics happens: particle lists get a deterministic number of candidates per event and
ntuple variables get deterministic placeholder values, so repeated runs give identical files.
"""

import glob
import os
import resource
import time
import zlib

from . import _rootio
from ._log import B2ERROR, B2FATAL, B2INFO, B2WARNING, LogLevel, log
from ._modules import EVENT_SOURCES, Module, register_module

ROOT_SAFE = (
    (" ", "__sp"), (",", "__cm"), (":", "__co"), ("(", "__bo"), (")", "__bc"), ("{", "__cbo"),
    ("}", "__cbc"), ("[", "__so"), ("]", "__sc"), ("-", "__mi"), ("+", "__pl"), ("*", "__st"),
    ("/", "__sl"), (".", "__pt"), ("=", "__eq"), ("<", "__lt"), (">", "__gt"), ("'", "__sq"),
    ('"', "__dq"), ("^", "__ha"), ("|", "__bar"),
)
BOOKKEEPING = ("__experiment__", "__run__", "__event__", "__production__", "__candidate__",
               "__ncandidates__", "__weight__")


class Options:
    """What the basf2 command line sets (``-n``, ``-i``, ``-o``, ``--dry-run`` ...)."""

    n_events = None
    experiment = None
    run = None
    skip_events = None
    input_files = []
    output_file = None
    dry_run = False
    no_stats = False
    random_seed = ""
    steering_text = ""
    dump_path = None
    inputs_used = []
    outputs_written = []
    processed = False


options = Options()


def root_safe(name):
    for char, replacement in ROOT_SAFE:
        name = name.replace(char, replacement)
    return name


class Path:
    """An ordered list of modules."""

    def __init__(self):
        self.modules_list = []

    def add_module(self, module, logLevel=None, debugLevel=None, **params):
        module = register_module(module, **params)
        if logLevel is not None:
            module.set_log_level(logLevel)
        self.modules_list.append(module)
        return module

    def modules(self):
        return list(self.modules_list)

    def add_path(self, path):
        self.modules_list.extend(path.modules_list)

    def __str__(self):
        return " -> ".join(m.name() for m in self.modules_list) or "(empty path)"


def create_path():
    return Path()


class ModuleStatistics:
    def __init__(self, name):
        self.name, self.calls, self.times, self.memory = name, 0, [], 0.0


class ProcessStatistics:
    """``print(basf2.statistics)`` prints the module table of the last process() call."""

    def __init__(self):
        self.modules = []
        self.total = ModuleStatistics("Total")

    def __str__(self):
        if not self.modules:
            return "No modules were processed."
        width = max(20, *(len(m.name) for m in self.modules))
        rule = "=" * (width + 62)
        head = (f"{'Name':<{width}} | {'Calls':>10} | {'Memory(MB)':>10} | {'Time(s)':>10} | "
                f"{'Time(ms)/Call':>17}")
        rows = [_row(m, width) for m in self.modules]
        return "\n".join([rule, head, rule, *rows, rule, _row(self.total, width), rule])


def _row(stats, width):
    total = sum(stats.times)
    mean = total / stats.calls * 1000 if stats.calls else 0.0
    spread = 0.0
    if stats.calls > 1:
        mean_s = total / len(stats.times)
        spread = (sum((t - mean_s) ** 2 for t in stats.times) / len(stats.times)) ** 0.5 * 1000
    return (f"{stats.name:<{width}} | {stats.calls:>10.0f} | {stats.memory:>10.0f} | "
            f"{total:>10.2f} | {mean:>7.2f} +-{spread:>7.2f}")


statistics = ProcessStatistics()


def _count(*key):
    """A deterministic pseudo-random integer for the key."""
    return zlib.crc32("|".join(str(k) for k in key).encode())


def list_key(name):
    """Charge-conjugate lists share one key: 'pi+:all' and 'pi-:all' -> 'pi:all'."""
    particle, _, label = name.strip().partition(":")
    particle = particle.removeprefix("anti-").rstrip("+-")
    return f"{particle}:{label}" if label else particle


def decay_parts(decay_string):
    mother, _, daughters = decay_string.partition("->")
    return mother.strip(), [d for d in daughters.split() if not d.startswith("^")] + [
        d[1:] for d in daughters.split() if d.startswith("^")]


def input_files_of(module):
    if options.input_files:
        names = list(options.input_files)
    else:
        names = list(module.get("inputFileNames")) or (
            [module.get("inputFileName")] if module.get("inputFileName") else [])
    found = []
    for name in names:
        matches = sorted(glob.glob(name)) if any(c in name for c in "*?[") else [name]
        found.extend(matches or [name])
    return found


def output_file_of(module, first):
    if first and options.output_file and not module.get("ignoreCommandLineOverride"):
        return options.output_file
    return module.get("outputFileName")


def planned_files(path):
    """(input files, output files) the path would read and write."""
    inputs, outputs, first = [], [], True
    for module in path.modules_list:
        if module.type() == "RootInput":
            inputs.extend(input_files_of(module))
        elif module.type() == "RootOutput":
            outputs.append(output_file_of(module, first))
            first = False
        elif module.type() in ("VariablesToNtuple", "VariablesToEventBasedTree"):
            name = module.get("fileName")
            if name not in outputs:
                outputs.append(name)
    return inputs, outputs


def _event_source_check(path):
    if any(m.type() in EVENT_SOURCES for m in path.modules_list):
        return
    B2ERROR("There is no module that provides event and run numbers (EventMetaData). You "
            "must add either the EventInfoSetter or an input module (e.g. RootInput) to the "
            "beginning of your path.")
    B2FATAL("1 ERROR(S) occurred! The processing of events will not be started.")


def _setter_events(module):
    exps, runs, evts = module.get("expList"), module.get("runList"), module.get("evtNumList")
    if options.n_events is not None:
        evts = [options.n_events]
        exps = [options.experiment if options.experiment is not None else exps[0]]
        runs = [options.run if options.run is not None else runs[0]]
    if not (len(exps) == len(runs) == len(evts)):
        B2FATAL("EventInfoSetter: expList, runList and evtNumList must have the same length.")
    production = module.get("production")
    events = [(e, r, n + 1, production) for e, r, count in zip(exps, runs, evts)
              for n in range(count)]
    skip = options.skip_events if options.skip_events is not None else module.get("skipNEvents")
    return events[skip:]


def _input_events(module):
    events = []
    files = input_files_of(module)
    if not files:
        B2FATAL("RootInput: no input file given (use -i FILE or the inputFileNames parameter).")
    for name in files:
        if not os.path.isfile(name):
            B2FATAL(f"Couldn't open input file {name}: no such file")
        try:
            events.extend(_rootio.read_events(name))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is fatal the same way
            B2FATAL(f"Couldn't read input file {name}: {exc}")
        options.inputs_used.append(name)
    skip = options.skip_events if options.skip_events is not None else module.get("skipNEvents")
    events = events[skip:]
    if options.n_events is not None:
        events = events[: options.n_events]
    return events


class _Loop:
    """One process() call: candidates per list, ntuple rows, written files."""

    def __init__(self, path):
        self.path = path
        self.lists = {}
        self.ntuples = {}

    def check_lists(self):
        known = set()
        for module in self.path.modules_list:
            kind = module.type()
            if kind == "ParticleLoader":
                known.update(list_key(d.split("->")[0]) for d in module.get("decayStrings"))
            elif kind == "ParticleCombiner":
                mother, daughters = decay_parts(module.get("decayString"))
                self._require(known, daughters, kind)
                known.add(list_key(mother))
            elif kind == "ParticleListManipulator":
                self._require(known, module.get("inputListNames"), kind)
                known.add(list_key(module.get("outputListName")))
            elif kind in ("ParticleSelector", "MCMatcherParticles", "ParticleVertexFitter"):
                name = module.get("decayString") if kind == "ParticleSelector" else \
                    module.get("listName")
                self._require(known, [name.split("->")[0]], kind)
            elif kind in ("VariablesToNtuple", "VariablesToEventBasedTree") and \
                    module.get("particleList"):
                self._require(known, [module.get("particleList")], kind)

    @staticmethod
    def _require(known, names, kind):
        for name in names:
            if list_key(name) not in known:
                B2ERROR(f"{kind}: the particle list '{name.strip()}' does not exist; fill it "
                        "with fillParticleList or reconstructDecay earlier in the path.")
                B2FATAL("1 ERROR(S) occurred! The processing of events will not be started.")

    def event(self, module, event):
        kind = module.type()
        if kind == "EventInfoPrinter":
            B2INFO(f"EXP: {event[0]} RUN: {event[1]} EVT: {event[2]}")
        elif kind == "ParticleLoader":
            for decay in module.get("decayStrings"):
                key = list_key(decay.split("->")[0])
                self.lists[key] = _count(key, *event) % 5
        elif kind == "ParticleSelector":
            key = list_key(module.get("decayString"))
            self.lists[key] = min(self.lists.get(key, 0), _count("cut", key, *event) % 4)
        elif kind == "ParticleCombiner":
            mother, daughters = decay_parts(module.get("decayString"))
            available = min((self.lists.get(list_key(d), 0) for d in daughters), default=0)
            self.lists[list_key(mother)] = min(available, _count(mother, *event) % 3)
        elif kind == "ParticleListManipulator":
            total = sum(self.lists.get(list_key(n), 0) for n in module.get("inputListNames"))
            self.lists[list_key(module.get("outputListName"))] = total
        elif kind in ("VariablesToNtuple", "VariablesToEventBasedTree"):
            self._ntuple_rows(module, event)

    def _ntuple_rows(self, module, event):
        file_trees = self.ntuples.setdefault(module.get("fileName"), {})
        names = [root_safe(_alias(v)) for v in module.get("variables")]
        tree = file_trees.setdefault(module.get("treeName"),
                                     {b: [] for b in (*BOOKKEEPING, *names)})
        particle_list = module.get("particleList")
        count = self.lists.get(list_key(particle_list), 0) if particle_list else 1
        for candidate in range(count):
            values = (event[0], event[1], event[2], event[3], candidate, count, 1.0)
            for branch, value in zip(BOOKKEEPING, values):
                tree[branch].append(value)
            for name in names:
                tree[name].append(_count(name, candidate, *event) % 100000 / 1000.0)

    def write_outputs(self, events):
        first = True
        for module in self.path.modules_list:
            if module.type() != "RootOutput":
                continue
            name = output_file_of(module, first)
            first = False
            _rootio.write_mdst_like(name, events, steering=options.steering_text,
                                    release=os.environ.get("BELLE2_RELEASE", ""),
                                    description=module.get("additionalDataDescription"))
            log_for(module, LogLevel.INFO, "Write TTree tree")
            log_for(module, LogLevel.INFO, "Write TTree persistent")
            options.outputs_written.append(name)
        for name, trees in self.ntuples.items():
            _rootio.write_ntuples(name, trees)
            options.outputs_written.append(name)


def _alias(variable):
    from variables import variables as manager

    return manager.alias_name(variable)


def log_for(module, level, message):
    if module.log_level is None or level >= module.log_level:
        log(level, message)


def _prepare_ntuples(loop):
    for module in loop.path.modules_list:
        if module.type() in ("VariablesToNtuple", "VariablesToEventBasedTree"):
            names = [root_safe(_alias(v)) for v in module.get("variables")]
            loop.ntuples.setdefault(module.get("fileName"), {}).setdefault(
                module.get("treeName"), {b: [] for b in (*BOOKKEEPING, *names)})


def _progress(done):
    if done > 0 and str(done).rstrip("0") == "1":
        B2INFO(f"Processed: {done:>10} events")


def process(path, max_event=0, calculateStatistics=True, **_ignored):
    """Run the event loop over ``path`` (``max_event`` 0 means no limit)."""
    if not isinstance(path, Path):
        raise TypeError("process() needs a basf2.Path as its first argument")
    if options.dump_path:
        import pickle

        with open(options.dump_path, "wb") as fh:
            pickle.dump(path, fh)
        B2INFO(f"Path written to {options.dump_path}; no events were processed")
        return
    if options.dry_run:
        inputs, outputs = planned_files(path)
        options.inputs_used.extend(inputs)
        options.outputs_written.extend(outputs)
        options.processed = True
        return
    _event_source_check(path)
    if options.input_files and not any(m.type() == "RootInput" for m in path.modules_list):
        B2WARNING("Input files were given with -i but the path has no RootInput module; "
                  "they are not read.")
    loop = _Loop(path)
    loop.check_lists()
    _prepare_ntuples(loop)
    source = next(m for m in path.modules_list if m.type() in EVENT_SOURCES)
    events = _setter_events(source) if source.type() == "EventInfoSetter" else \
        _input_events(source)
    if max_event:
        events = events[:max_event]
    _run_loop(loop, path, source, events)
    loop.write_outputs(events)
    options.processed = True


def _run_loop(loop, path, source, events):
    stats = [ModuleStatistics(m.name()) for m in path.modules_list]
    progress = any(m.type() == "Progress" for m in path.modules_list)
    started = time.perf_counter()
    for done, event in enumerate(events, start=1):
        for module, module_stats in zip(path.modules_list, stats):
            tick = time.perf_counter()
            loop.event(module, event)
            module_stats.times.append(time.perf_counter() - tick)
            module_stats.calls += 1
        if progress:
            _progress(done)
    memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    for module, module_stats in zip(path.modules_list, stats):
        module_stats.memory = memory
        if module is source:
            module_stats.calls += 1
    total = ModuleStatistics("Total")
    total.calls, total.memory = len(events) + 1, memory
    total.times = [time.perf_counter() - started]
    statistics.modules, statistics.total = stats, total
    if progress:
        B2INFO(f"Processed: {len(events):>10} events (done)")


def print_path(path, defaults=False):
    for index, module in enumerate(path.modules_list):
        print(f"{index:3d}: {module.name()}")
        for name, kind, value in module.available_params():
            if defaults or module.is_set(name):
                print(f"       {name} ({kind}): {value!r}")


__all__ = ["Module", "Path", "create_path", "process", "statistics", "print_path", "options"]
