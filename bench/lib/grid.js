// The grid's cells: one combination of connections, pipeline depth and
// payload size, named the same way in every table, chart and target.

/** "32x32 16 B": connections x pipelined requests, params length. */
export const cellName = ({ connections, pipeline, payload }) => `${connections}x${pipeline} ${payload} B`;

/** Every combination of the lists, payload outermost. */
export function gridCells({ connections, pipeline, payload }) {
  return payload.flatMap((size) =>
    connections.flatMap((conns) => pipeline.map((depth) => ({ connections: conns, pipeline: depth, payload: size }))),
  );
}
