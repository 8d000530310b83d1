"""ONNX files that older readers accept: OpenCV 4.6 (Debian 12's libopencv-dev) among them."""

import onnx


def gather_of_shape_to_transpose(path):
    """Rewrite tf2onnx's Gather(Shape(x), perm) as Shape(Transpose(x, perm)), in place.

    tf2onnx writes Flatten's batch size that way; OpenCV 4.6's reader takes a Gather of one
    index only. The Transpose gives the same numbers. Unused nodes are dropped afterwards.
    """
    proto = onnx.shape_inference.infer_shapes(onnx.load(path))
    graph = proto.graph
    values = [*graph.input, *graph.value_info]
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in values}
    consts = {t.name: t for t in graph.initializer}
    shapes = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Shape"}
    for i, node in reversed(list(enumerate(graph.node))):
        if node.op_type == "Gather" and node.input[0] in shapes and node.input[1] in consts:
            x = shapes[node.input[0]]
            perm = onnx.numpy_helper.to_array(consts[node.input[1]]).tolist()
            if isinstance(perm, list) and sorted(perm) == [*range(ranks.get(x, -1))]:
                moved = [node.output[0] + "_transposed"]
                transpose = onnx.helper.make_node("Transpose", [x], moved, perm=perm)
                node.CopyFrom(onnx.helper.make_node("Shape", moved, node.output))
                graph.node.insert(i, transpose)
    onnx.save(proto, path)
    ends = [[v.name for v in part] for part in (graph.input, graph.output)]
    onnx.utils.extract_model(path, path, *ends)  # drops the nodes and constants left unused
