"""b2env MOCK CVMFS stand-in (not Belle II software): the modularAnalysis helpers.

Each helper only adds the registry modules the real one adds, with checked arguments; no
physics is done (see MOCK-CVMFS.txt).
"""

from basf2 import B2ERROR, B2FATAL, Path


def _need_path(path, helper):
    if not isinstance(path, Path):
        raise TypeError(f"{helper}() needs the basf2.Path as its 'path' argument")
    return path


def inputMdst(filename=None, path=None, environmentType="default", skipNEvents=0,
              entrySequence=None, *, parentLevel=0, **kwargs):
    """Read one mdst file (``-i`` on the command line replaces it)."""
    if isinstance(filename, Path) and path is None:  # release-05 style positional path
        filename, path = None, filename
    inputMdstList([filename] if filename else [], path=path, environmentType=environmentType,
                  skipNEvents=skipNEvents, parentLevel=parentLevel, **kwargs)


def inputMdstList(filelist=None, path=None, environmentType="default", skipNEvents=0,
                  entrySequences=None, *, parentLevel=0, useB2BIIDBCache=True, **kwargs):
    """Read a list of mdst files; an empty list leaves the choice to ``-i`` / the grid."""
    if isinstance(filelist, str) and path is None and isinstance(environmentType, Path):
        filelist, path = environmentType, None  # tolerate the old (environmentType, ...) order
    path = _need_path(path or kwargs.pop("path", None), "inputMdstList")
    files = [filelist] if isinstance(filelist, str) else list(filelist or [])
    params = {"inputFileNames": files, "skipNEvents": skipNEvents, "parentLevel": parentLevel}
    if entrySequences is not None:
        params["entrySequences"] = list(entrySequences)
    path.add_module("RootInput", **params)


def fillParticleList(decayString, cut, writeOut=False, path=None, enforceFitHypothesis=False,
                     loadPhotonsFromKLM=False, loadPhotonBeamBackgroundMVA=False, **kwargs):
    """Fill a final-state particle list (and its charge conjugate)."""
    path = _need_path(path, "fillParticleList")
    if decayString.split(":")[-1] == "all" and cut:
        B2FATAL("You are trying to apply a cut to the list "
                f"{decayString}! The cut-string is ignored: use a label other than 'all'.")
    loader = path.add_module("ParticleLoader", decayStrings=[decayString], writeOut=writeOut)
    loader.set_name(f"ParticleLoader_{decayString}")
    selector = path.add_module("ParticleSelector", decayString=decayString, cut=cut)
    selector.set_name(f"ParticleSelector_applyCuts_{decayString}")


def fillParticleLists(decayStringsWithCuts, writeOut=False, path=None, **kwargs):
    for decayString, cut in decayStringsWithCuts:
        fillParticleList(decayString, cut, writeOut=writeOut, path=path)


def reconstructDecay(decayString, cut, dmID=0, writeOut=False, path=None, candidate_limit=None,
                     ignoreIfTooManyCandidates=True, chargeConjugation=True,
                     allowChargeViolation=False, **kwargs):
    """Combine daughter lists into a mother list."""
    path = _need_path(path, "reconstructDecay")
    if "->" not in decayString:
        B2ERROR(f"reconstructDecay: '{decayString}' is not a decay string (mother -> daughters)")
        raise ValueError(f"Invalid decay string: {decayString}")
    combiner = path.add_module(
        "ParticleCombiner", decayString=decayString, cut=cut, decayMode=dmID,
        writeOut=writeOut, chargeConjugation=chargeConjugation,
        allowChargeViolation=allowChargeViolation,
        maximumNumberOfCandidates=candidate_limit if candidate_limit else -1,
        ignoreIfTooManyCandidates=ignoreIfTooManyCandidates)
    combiner.set_name(f"ParticleCombiner_{decayString}")


def cutAndCopyList(outputListName, inputListName, cut, writeOut=False, path=None):
    cutAndCopyLists(outputListName, [inputListName], cut, writeOut=writeOut, path=path)


def cutAndCopyLists(outputListName, inputListNames, cut, writeOut=False, path=None):
    path = _need_path(path, "cutAndCopyLists")
    path.add_module("ParticleListManipulator", outputListName=outputListName,
                    inputListNames=list(inputListNames), cut=cut, writeOut=writeOut)


def copyLists(outputListName, inputListNames, writeOut=False, path=None):
    cutAndCopyLists(outputListName, inputListNames, "", writeOut=writeOut, path=path)


def applyCuts(list_name, cut, path=None):
    path = _need_path(path, "applyCuts")
    path.add_module("ParticleSelector", decayString=list_name, cut=cut)


def matchMCTruth(list_name, path=None):
    path = _need_path(path, "matchMCTruth")
    path.add_module("MCMatcherParticles", listName=list_name).set_name(
        f"MCMatcher_{list_name}")


def variablesToNtuple(decayString, variables, treename="variables", filename="ntuple.root",
                      path=None, basketsize=1600, signalSideParticleList="",
                      filenameSuffix="", useFloat=False, storeEventType=True):
    """Write one flat tree: bookkeeping branches plus one branch per variable."""
    path = _need_path(path, "variablesToNtuple")
    ntuple = path.add_module(
        "VariablesToNtuple", particleList=decayString, variables=list(variables),
        fileName=filename, treeName=treename, basketSize=basketsize,
        signalSideParticleList=signalSideParticleList, fileNameSuffix=filenameSuffix,
        useFloat=useFloat, storeEventType=storeEventType)
    ntuple.set_name(f"VariablesToNtuple_{decayString}")


def variablesToEventBasedTree(decayString, variables, treename="variables",
                              filename="ntuple.root", path=None, event_variables=None, **kw):
    path = _need_path(path, "variablesToEventBasedTree")
    path.add_module("VariablesToEventBasedTree", particleList=decayString,
                    variables=list(variables), fileName=filename, treeName=treename,
                    event_variables=list(event_variables or []))


def outputMdst(filename, path=None, **kwargs):
    _need_path(path, "outputMdst").add_module("RootOutput", outputFileName=filename)


def outputUdst(filename, particleLists=None, path=None, **kwargs):
    _need_path(path, "outputUdst").add_module("RootOutput", outputFileName=filename)


def printList(list_name, full, path):
    _need_path(path, "printList")


def vertexFit(list_name, conf_level, fit_type="vertex", path=None, **kwargs):
    _need_path(path, "vertexFit").add_module("ParticleVertexFitter", listName=list_name,
                                             confidenceLevel=float(conf_level), fitType=fit_type)
