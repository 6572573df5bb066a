/** Where the reviewer docs live under the output directory (a constant the light compile path needs). */
export const DOCS_DIR = "docs";
/** The monthly estimate as JSON, under DOCS_DIR: the base a pull request's estimate is compared with. */
export const COST_FILE = "cost.json";
