"""b2env MOCK CVMFS stand-in (not Belle II software): the variable manager (names only)."""


class _VariableManager:
    def __init__(self):
        self._aliases = {}

    def addAlias(self, alias, expression):
        self._aliases[alias] = expression
        return True

    def getAliasNames(self):
        return list(self._aliases)

    def printAliases(self):
        for alias, expression in self._aliases.items():
            print(f"{alias}: {expression}")

    def clearAliases(self):
        self._aliases.clear()

    def alias_name(self, variable):
        """The branch name of ``variable`` (aliases keep their own name)."""
        return variable


variables = _VariableManager()


def printVars(description=None):
    for name in sorted(variables.getAliasNames()):
        print(name)
