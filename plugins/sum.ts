import { z } from "zod";
import { Rpc, type Infer } from "forkrpc";

const Numbers = z.array(z.number().finite()).max(10_000);

/** Adds a list of numbers. The schema refuses anything else with INVALID_PARAMS. */
@Rpc("sum", { description: "Adds an array of numbers.", params: Numbers })
export class Sum {
  handle(numbers: Infer<typeof Numbers>): number {
    return numbers.reduce((a, b) => a + b, 0);
  }
}
