// Asks the server about the code in the join form, once it is a whole
// code: the answer feeds the privacy notice, which must be on screen
// before the person sends anything. A code typed over another never shows
// the older code's answer.

import { useEffect, useState } from 'preact/hooks';
import { joinInfo } from './api';
import { askableCode, type JoinInfoState } from './privacy';

export function useJoinInfo(rawCode: string): JoinInfoState {
  const code = askableCode(rawCode);
  const [state, setState] = useState<JoinInfoState>(() => (code ? { status: 'loading', code } : { status: 'none' }));

  useEffect(() => {
    if (!code) {
      setState({ status: 'none' });
      return;
    }
    let current = true;
    setState({ status: 'loading', code });
    joinInfo(code).then(
      (info) => current && setState({ status: 'ready', code, info }),
      // Offline or an unknown code: the notice speaks in general words, and
      // the form's own handling says what is wrong with the code on submit.
      () => current && setState({ status: 'failed', code }),
    );
    return () => void (current = false);
  }, [code]);

  // Between a new code and its effect, the old answer must not show.
  if (!code) return { status: 'none' };
  return 'code' in state && state.code === code ? state : { status: 'loading', code };
}
