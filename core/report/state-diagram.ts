import type { runStateMachine } from '../use-cases/distributed/state-machine.js';

type State = Record<string, unknown>;

/** A picture of the states (Mermaid), generated from the definition: docs/serverless.md shows it. */
export function stateDiagram(definition: ReturnType<typeof runStateMachine>): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${definition.StartAt}`];
  const walk = (states: Record<string, State>, indent: string): void => {
    for (const [name, state] of Object.entries(states)) {
      const processor = state.ItemProcessor as { StartAt: string; States: Record<string, State> } | undefined;
      if (processor) {
        const mode = (processor as unknown as { ProcessorConfig: { Mode: string } }).ProcessorConfig.Mode;
        lines.push(`${indent}state ${name} {`, `${indent}  [*] --> ${processor.StartAt}`);
        lines.push(`${indent}  note right of ${processor.StartAt}: ${mode} Map, one per item`);
        walk(processor.States, `${indent}  `);
        lines.push(`${indent}}`);
      }
      for (const choice of (state.Choices as Array<{ Next: string; Variable: string; StringEquals: string }>) ?? [])
        lines.push(`${indent}${name} --> ${choice.Next}: ${choice.Variable} = ${choice.StringEquals}`);
      if (state.Default) lines.push(`${indent}${name} --> ${String(state.Default)}`);
      if (state.Next) lines.push(`${indent}${name} --> ${String(state.Next)}`);
      if (state.End) lines.push(`${indent}${name} --> [*]`);
    }
  };
  walk(definition.States, '  ');
  return lines.join('\n');
}
