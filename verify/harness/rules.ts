/**
 * A lesson's rules: each sentence of "The behaviour" in its problem.md, numbered R1, R2, … and declared
 * once, in the lesson's verifier. Every step names the rules it checks, every failure code belongs to
 * the one rule it enforces, and the suite proves each rule has a step and a wrong program that breaks it
 * (test/rules.test.ts). A failing verdict tells the learner which rule their program broke.
 */

/** `R1`, `R2`, … */
export type RuleId = `R${number}`;

/** One rule of a lesson. */
export interface Rule {
  /** Exactly as problem.md shows it after `**Rn**` (Markdown included). */
  text: string;
  /** The failure codes that enforce this rule: the lesson's own, and harness codes where the rule is theirs. */
  codes: readonly string[];
}

/** A lesson's rules, by id. */
export type Rules = Readonly<Record<RuleId, Rule>>;

/** Declares a lesson's rules; the identity function, for the types. */
export function defineRules<const T extends Record<RuleId, Rule>>(rules: T): T {
  return rules;
}

/** The rule a failure code enforces, if the lesson declares one. */
export function ruleOfCode(rules: Rules | undefined, code: string): { id: RuleId; text: string } | undefined {
  if (!rules) return undefined;
  for (const [id, rule] of Object.entries(rules) as Array<[RuleId, Rule]>) {
    if (rule.codes.includes(code)) return { id, text: rule.text };
  }
  return undefined;
}

/** A rule's text as a terminal shows it: Markdown emphasis and code marks removed. */
export function plainRuleText(text: string): string {
  return text.replace(/\*\*([^*]+)\*\*/g, '$1').replace(/`([^`]+)`/g, '$1');
}
