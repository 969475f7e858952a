// The console's, projector's and start page's Italian texts, added when one
// of those pages loads (English ones come with the rest of English).

import { addTexts } from './index';
import { itConsole } from './it.console';

addTexts('it', itConsole);
