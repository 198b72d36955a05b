"""b2env MOCK CVMFS stand-in (not Belle II software): alias helpers (names only)."""

from variables import variables as manager


def _particle_names(decay_string):
    _, _, daughters = decay_string.partition("->")
    mother = decay_string.split("->")[0].strip().lstrip("^")
    names = [mother.split(":")[0]] if mother.startswith("^") or not daughters else []
    for word in daughters.split():
        if word.startswith("^"):
            names.append(word[1:].split(":")[0])
    return names


def _clean(name):
    for char in "+-/*()[]{}: ,":
        name = name.replace(char, "")
    return name


def create_aliases(list_of_variables, wrapper, prefix):
    """Alias ``prefix_var`` for ``wrapper.format(variable=var)``; returns the alias names."""
    names = []
    for variable in list_of_variables:
        alias = f"{prefix}_{variable}" if prefix else variable
        manager.addAlias(alias, wrapper.format(variable=variable))
        names.append(alias)
    return names


def create_aliases_for_selected(list_of_variables, decay_string, prefix=None, use_names=True,
                                use_relative_indices=False):
    """Aliases for the particles selected with ^ in ``decay_string``; returns the names."""
    selected = _particle_names(decay_string) or [decay_string.split("->")[0].strip()]
    if prefix is not None and isinstance(prefix, str):
        prefix = [prefix]
    names = []
    for index, particle in enumerate(selected):
        tag = prefix[index] if prefix and index < len(prefix) else (
            _clean(particle) if use_names else f"d{index}")
        names.extend(create_aliases(list_of_variables, "{variable}", tag))
    return names


def create_daughter_aliases(list_of_variables, indices, prefix="", include_indices=True):
    index_list = [indices] if isinstance(indices, int) else list(indices)
    tag = prefix + "".join(f"_d{i}" for i in index_list) if include_indices else prefix
    return create_aliases(list_of_variables, "{variable}", tag.lstrip("_") or None)


def add_collection(list_of_variables, collection_name):
    """Collections are plain name lists in the stand-in: the name is returned unchanged."""
    return collection_name
