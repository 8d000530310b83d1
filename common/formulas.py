"""A function's formula as text and as matplotlib mathtext, read from its own source.

So that a lesson names the curve it fits from the function itself: when an instructor edits
`return np.sin(4 * np.pi * x)` into `return np.abs(x)`, the printout, the JSON and the
figures all say |x|, without a label to edit by hand.
"""

import ast
import inspect
import textwrap

# NumPy's names that mathtext writes as maths: np.sin -> \sin, np.pi -> \pi.
MATH_NAMES = {
    name: "\\" + name for name in ("pi", "sin", "cos", "tan", "exp", "log", "sinh", "cosh", "tanh")
}
SIGNS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Lt: "<",
    ast.Gt: ">",
    ast.LtE: r"\leq",
    ast.GtE: r"\geq",
    ast.Eq: "=",
}


def returned_expression(function):
    """The syntax tree of what a one-line function returns, or None (no source, more lines)."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):  # a function typed at a prompt has no source to read
        return None
    definition = ast.parse(source).body[0]
    if not isinstance(definition, ast.FunctionDef):
        return None
    body = [node for node in definition.body if not isinstance(node, ast.Expr)]  # no docstring
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    return None


def _name(node):
    """x for x, pi for np.pi, sin for np.sin."""
    return node.id if isinstance(node, ast.Name) else node.attr


def _is_sum(node):
    """True for a + b, a - b and -a: they need brackets inside a product or a power."""
    return isinstance(node, ast.UnaryOp) or (
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)
    )


def _grouped(node, brackets):
    """node as mathtext, in brackets when `brackets` is true."""
    return f"({mathtext(node)})" if brackets else mathtext(node)


def mathtext(node):
    """A NumPy expression's syntax tree in mathtext: np.sin(4 * np.pi * x) -> \\sin(4 \\pi x)."""
    match node:
        case ast.Name() | ast.Attribute():
            return MATH_NAMES.get(_name(node), _name(node))
        case ast.Constant(value=bool() | int() | float() as value):
            return f"{value:g}"
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return "-" + _grouped(operand, _is_sum(operand))
        case ast.BinOp(left=left, op=ast.Pow(), right=right):
            base = _grouped(left, isinstance(left, ast.BinOp | ast.UnaryOp))
            return "{" + base + "}^{" + mathtext(right) + "}"
        case ast.BinOp(left=left, op=ast.Mult() | ast.Div() as op, right=right):
            # 4 * pi * x -> 4 \pi x; a number on the right gets a dot: x \cdot 2
            left_sum = isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add | ast.Sub)
            right_sum = _is_sum(right) or (isinstance(op, ast.Div) and isinstance(right, ast.BinOp))
            between = r" \cdot " if isinstance(right, ast.Constant | ast.UnaryOp) else " "
            between = "/" if isinstance(op, ast.Div) else between
            return _grouped(left, left_sum) + between + _grouped(right, right_sum)
        case ast.BinOp(left=left, op=ast.Add() | ast.Sub() as op, right=right):
            return f"{mathtext(left)} {SIGNS[type(op)]} {_grouped(right, _is_sum(right))}"
        case ast.Compare(left=left, ops=[op], comparators=[right]) if type(op) in SIGNS:
            return f"{mathtext(left)} {SIGNS[type(op)]} {mathtext(right)}"
        case ast.Call(func=ast.Name() | ast.Attribute() as func, args=args, keywords=[]):
            name, inside = _name(func), ", ".join(mathtext(arg) for arg in args)
            if name in ("abs", "absolute") and len(args) == 1:
                return f"|{inside}|"
            if name == "sqrt":
                return r"\sqrt{" + inside + "}"
            return MATH_NAMES.get(name, r"\mathrm{" + name + "}") + f"({inside})"
    raise ValueError(f"no mathtext for {ast.unparse(node)}")


def formula(function):
    """(text, mathtext) of what a one-line function returns: ("sin(4*pi*x)", "$\\sin(4 \\pi x)$").

    NumPy's "np." is left out. A function of several lines is named by its call, "target(x)",
    and an expression mathtext can't write is shown as text.
    """
    expression = returned_expression(function)
    if expression is None:
        name = getattr(function, "__name__", "f")
        return f"{name}(x)", rf"$\mathrm{{{name}}}(x)$".replace("_", r"\_")
    text = ast.unparse(expression).replace("np.", "").replace(" * ", "*").replace(" ** ", "**")
    try:
        return text, f"${mathtext(expression)}$"
    except ValueError:
        return text, text.replace("$", r"\$")
