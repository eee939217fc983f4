"""The ``lamina inspect FILE`` and ``lamina convert IN OUT`` commands (``lamina/__main__.py`` adds them).

``convert`` reads any model file lamina reads (by content) and writes the format OUT's suffix names:
``.keras``, ``.h5``/``.hdf5``, ``.lamina``, or ``.safetensors`` (a PyTorch ``state_dict`` with lamina's
parameter names, for ``model.load_state_dict`` without lamina's loader).
"""

import sys
import warnings

from lamina.saving import api, file_info


def add_commands(commands):
    """Adds ``inspect`` and ``convert`` to an argparse subparsers object."""
    inspecting = commands.add_parser("inspect", help="show a model or weights file: format, writer, layers, weight "
                                                  "shapes, training configuration, what would not load")
    inspecting.add_argument("file")
    inspecting.set_defaults(handler=_inspect)
    convert = commands.add_parser("convert", help="convert a model file between .keras, .h5, .lamina and a "
                                                  "PyTorch state_dict (.safetensors)")
    convert.add_argument("input")
    convert.add_argument("output", help="the format comes from the suffix: .keras, .h5, .hdf5, .lamina, "
                                        ".safetensors")
    convert.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    convert.add_argument("--no-compile", action="store_true", help="drop the training configuration")
    convert.add_argument("--unsafe", action="store_true",
                         help="allow code stored in the file (Lambda layers): only for files you trust")
    convert.set_defaults(handler=_convert)


def _inspect(arguments):
    try:
        print(file_info.report(file_info.describe(arguments.file)))
    except (ValueError, ImportError) as error:
        print(f"lamina inspect: {error}", file=sys.stderr)
        return 2
    return 0


def _convert(arguments):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = api.load_model(arguments.input, compile=not arguments.no_compile, safe_mode=not arguments.unsafe)
            api.save_model(model, arguments.output, overwrite=arguments.overwrite)
    except (ValueError, ImportError, FileExistsError) as error:
        print(f"lamina convert: {error}", file=sys.stderr)
        return 2
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
    print(f"Wrote {arguments.output} ({type(model).__name__} '{model.name}', {len(model.weights)} weights).")
    return 0
