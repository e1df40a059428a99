import { pageElements } from './dom.js';
import { Page } from './page.js';
import { Store } from './store.js';

// The page's entry point, loaded by page.html as /ui/page/main.js.
new Page(pageElements(), new Store()).start();
