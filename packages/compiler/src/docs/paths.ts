/** Where the reviewer docs live under the output directory (a constant the light compile path needs). */
export const DOCS_DIR = "docs";
