import { openPostgresStore } from '../../src/store/postgres';
import { describePostgres } from '../helpers/postgres';
import { storeContract } from './store.contract';

describePostgres('PostgreSQL store', (pg) => {
  storeContract('PostgreSQL', async () => openPostgresStore(await pg().freshDatabase()));
});
