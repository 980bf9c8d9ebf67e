/** Global setup: builds the app (build/) for the browser tests when its sources changed. */
import { buildApp } from '../scripts/build-app.ts';

export default function setup() {
  buildApp();
}
